// Every message type of every socket, in one table so that codes never collide.
// Bands: 1xx worker <-> broker, 2xx client <-> broker, 3xx supervisor control,
// 4xx supervisor events, 5xx registry. The numbers travel on the wire: never renumber one.
#pragma once

#include <cstdint>
#include <string_view>

namespace pl::protocol {

enum class MessageType : uint16_t {
  // worker -> broker
  kWorkerHello = 100,      // a worker (re)joins: name, pid, slots
  kWorkerHeartbeat = 101,  // liveness; also carries the worker's view of its free slots
  kWorkResult = 102,       // the outcome of one attempt of one item; returns a credit
  kWorkerBye = 103,        // the worker is stopping: redeliver what it holds
  // broker -> worker
  kBrokerHeartbeat = 110,
  kWorkItem = 111,         // one attempt of one item; consumes a credit
  kCancelItem = 112,       // stop an attempt (cancelled run, deadline passed)
  kWelcome = 113,          // reply to kWorkerHello: the broker's instance id and settings
  kReconnect = 114,        // the broker does not know this worker: say hello again
  kResultAck = 115,        // these results are durable: the worker may forget them

  // client -> broker
  kSubmitRun = 200,
  kWatchRun = 201,
  kCancelRun = 202,
  kListRuns = 203,
  kBrokerStatusRequest = 204,
  kRunDetailRequest = 205,  // {run}: what `pipelinectl runs show` prints
  kResumeRun = 206,         // {run}: run a failed or cancelled run again
  kExportRun = 207,         // {run}: the run's checkpoint: the run and every item result
  kDeleteRun = 208,         // {run}: forget a finished run and its item results
  kBackupRequest = 209,     // {dir?}: copy broker.db into dir while serving; without: its status
  // broker -> client
  kRunAccepted = 210,
  kRunStatus = 211,
  kRunList = 212,
  kBrokerStatus = 213,
  kRunDetail = 214,
  kRunExport = 215,
  kRunDeleted = 216,  // {request, run, items_deleted}
  kBackupStatus = 217,  // {request, state, path, pages_copied, pages_total, bytes, ...}
  kClientError = 299,      // any request's failure: {code, message}

  // control: client -> supervisor and its replies
  kControlRequest = 300,   // {command, args}
  kControlReply = 301,     // {ok, result | code + message}

  // supervisor events (PUB)
  kChildEvent = 400,

  // registry: requests and replies
  kRegistryRequest = 500,
  kRegistryReply = 501,
};

// A short lower-case name for logs ("work_item"); "unknown" for a code not in the table.
std::string_view message_type_name(MessageType type);
bool is_known_message_type(uint16_t code);

}  // namespace pl::protocol
