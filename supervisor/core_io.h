// What goes into and comes out of the supervisor's pure core (supervisor_core.h).
//
// Events are facts the shell observed (a process exited, a datagram said READY=1, a deadline
// passed, an operator asked for something). Commands are effects the core wants (spawn, signal,
// publish, reply, exit). Both are small plain structs in a std::variant; pids are just numbers
// to the core.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "supervisor/child_spec.h"

namespace pl::supervisor {

// Identifies one child (a worker, a pool, a nested supervisor, a pool member) for as long as it
// exists in the tree; a restarted child keeps its id, a replaced one (reload) gets a new one.
using ChildId = uint64_t;

// ---- Events -------------------------------------------------------------------------------

// Start the whole tree, in order. Sent once, first.
struct StartTree {};

// The answer to a SpawnProcess command. `memory_in_cgroup`: the process runs in a cgroup whose
// memory.max enforces its max_memory, so the core does not watch its RSS.
struct ProcessSpawned {
  ChildId child = 0;
  int64_t pid = 0;
  bool memory_in_cgroup = false;
};
struct SpawnFailed {
  ChildId child = 0;
  std::string error;
};

// A process the core spawned has exited (and was reaped). Exactly one of exit_status >= 0 or
// signal > 0 holds.
struct ProcessExited {
  int64_t pid = 0;
  int exit_status = -1;
  int signal = 0;
  int64_t time_ms = 0;  // wall clock, for last_exit
};

// One datagram on the notify socket, from `pid` (SCM_CREDENTIALS), parsed.
struct NotifyReceived {
  int64_t pid = 0;
  bool ready = false;             // READY=1
  bool watchdog = false;          // WATCHDOG=1
  bool watchdog_trigger = false;  // WATCHDOG=trigger
  bool stopping = false;          // STOPPING=1
  std::optional<std::string> status;  // STATUS=...
  // EXTEND_TIMEOUT_USEC=N: a starting child asks for N more microseconds to become ready (a
  // broker recovering a large run); each such message moves the deadline to at least now + N.
  std::optional<int64_t> extend_timeout_us;
};

// The answer to a MeasureMemory command: the process's resident set, or why it could not be
// read (never a zero in its place).
struct MemoryMeasured {
  int64_t pid = 0;
  std::optional<uint64_t> rss_bytes;
  std::string error;  // when !rss_bytes
};

// The core's next_deadline() has passed (extra ticks are harmless).
struct TimerFired {};

// Stop the tree in reverse order and exit 0 (SIGTERM, SIGINT, `shutdown`).
struct ShutdownRequested {
  std::string reason;
};

enum class AdminVerb { kStart, kStop, kRestart, kScale };

// An operator's start/stop/restart NAME or scale POOL COUNT. Answered by a SendReply with the
// same token once done (or refused).
struct AdminRequested {
  uint64_t token = 0;
  AdminVerb verb = AdminVerb::kStart;
  std::string name;
  int64_t count = 0;  // kScale
};

// A re-read, already checked config: apply only the difference. Answered by a SendReply.
struct ReloadRequested {
  uint64_t token = 0;
  ChildSpec root;
};

using CoreEvent =
    std::variant<StartTree, ProcessSpawned, SpawnFailed, ProcessExited, NotifyReceived, TimerFired,
                 ShutdownRequested, AdminRequested, ReloadRequested, MemoryMeasured>;

// ---- Commands ------------------------------------------------------------------------------

// Start a process; answer with ProcessSpawned or SpawnFailed (later, as a new event).
struct SpawnProcess {
  ChildId child = 0;
  std::string name;  // full name: PIPELINE_CHILD_NAME
  std::shared_ptr<const ProcessSpec> spec;
};

// Send `signal` to the process and (when `group`) its whole process group.
struct SignalProcess {
  int64_t pid = 0;
  int signal = 0;
  bool group = true;
};

// A lifecycle event to publish, keep in the history and log. The shell adds seq and time.
struct PublishEvent {
  std::string kind;  // started | ready | exited | restarting | stopped | escalated | ...
  std::string child;
  int64_t pid = 0;
  int64_t exit_status = -1;
  int64_t signal = 0;
  std::string detail;
};

// A state line for our own service manager (systemd): "READY=1", "STOPPING=1", "STATUS=...".
struct NotifyManager {
  std::string state;
};

// The answer to an AdminRequested or ReloadRequested.
struct SendReply {
  uint64_t token = 0;
  bool ok = true;
  Value result;
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

// Read the resident set of a process with a max_memory (the RSS watch); answer with a
// MemoryMeasured event.
struct MeasureMemory {
  int64_t pid = 0;
};

// The root is done: stop the loop and exit with `code` (0 clean, 1 gave up / failed start).
struct ExitProcess {
  int code = 0;
  std::string reason;
};

using CoreCommand = std::variant<SpawnProcess, SignalProcess, PublishEvent, NotifyManager,
                                 SendReply, ExitProcess, MeasureMemory>;

}  // namespace pl::supervisor
