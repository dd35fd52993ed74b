// Supervisor control (ROUTER, `control.sock`) and lifecycle events (PUB, `events.sock`).
//
// Control is request/reply: {request, command, args} -> {request, ok, result} or
// {request, ok: false, code, message}. Commands and their result shapes are documented in
// docs/control-api.md.
#pragma once

#include <cstdint>
#include <string>

#include "common/protocol/reply.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::protocol {

struct ControlRequest {
  std::string request;
  std::string command;  // status | events | start | stop | restart | scale | reload | shutdown
  Value args;           // object
};

using ControlReply = Reply;

// One lifecycle change of one child. Published on the event socket with the topic
// "child." + kind, so that subscribers can filter ("child.exited").
struct ChildEvent {
  uint64_t seq = 0;        // increases by one per event of one supervisor process
  int64_t time_ms = 0;     // wall clock, ms since the epoch
  std::string child;       // full name: "workers.2", "sub.broker"
  int64_t pid = 0;         // 0 when there is no process
  std::string kind;        // started | ready | exited | restarting | stopped | escalated | gave_up | ...
  int64_t exit_status = -1;  // for exited: the status, or -1
  int64_t signal = 0;        // for exited: the terminating signal, or 0
  std::string detail;        // free text for people
};

Value to_body(const ControlRequest& m);
Value to_body(const ChildEvent& m);
Result<ControlRequest> control_request_from(const Value& body);
Result<ControlReply> control_reply_from(const Value& body);
Result<ChildEvent> child_event_from(const Value& body);

// The PUB topic frame for an event: "child.exited".
std::string event_topic(const ChildEvent& e);

// ChildEvent kinds (docs/control-api.md has the full table). Subscribe to
// kEventTopicPrefix + kind, e.g. "child.exited", to hear one kind only.
inline constexpr const char* kEventTopicPrefix = "child.";
namespace event_kind {
inline constexpr const char* kStarted = "started";
inline constexpr const char* kReady = "ready";
inline constexpr const char* kExited = "exited";  // pid, exit_status or signal; published first
inline constexpr const char* kRestarting = "restarting";
inline constexpr const char* kStopped = "stopped";
inline constexpr const char* kStopping = "stopping";
inline constexpr const char* kStartFailed = "start_failed";
inline constexpr const char* kReadyTimeout = "ready_timeout";
inline constexpr const char* kWatchdogTimeout = "watchdog_timeout";
inline constexpr const char* kKilled = "killed";
inline constexpr const char* kEscalated = "escalated";
inline constexpr const char* kGaveUp = "gave_up";
inline constexpr const char* kAutoShutdown = "auto_shutdown";
inline constexpr const char* kMemoryExceeded = "memory_exceeded";  // over max_memory: killed
inline constexpr const char* kMeasureFailed = "measure_failed";    // RSS could not be read
}  // namespace event_kind

}  // namespace pl::protocol
