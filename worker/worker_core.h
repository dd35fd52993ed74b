// The worker's side of the broker protocol, as a pure state machine: no sockets, no threads,
// no clock reads. The shell feeds it events with the current time and carries out the commands
// it returns.
//
// It says hello on every (re)connection, announcing its slots and the items it still runs;
// keeps every result until the broker acknowledges it (the broker does so once the result is
// durable) and sends the unacknowledged ones again right after each hello (one connection keeps
// order, so the broker reads them after the hello), so a broker crash loses no finished work;
// sends heartbeats every heartbeat interval; counts the broker gone after `liveness` silent
// intervals and asks for a reconnection; accepts at most `slots` items at once; and asks the
// executor pool to cancel an item when the broker says so or when its deadline passes.
//
// Recycling (worker.max_items N > 0): once it has taken N items it tells the broker it is
// draining (a heartbeat with draining: true; the broker sends it nothing more), finishes what it
// runs (items the broker sent before it heard are run too), waits for their acknowledgements
// (at most heartbeat x liveness), and then asks the shell to retire: say goodbye and exit 0, so
// that its supervisor starts a fresh one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/protocol/envelope.h"
#include "common/protocol/work.h"
#include "worker/item_run.h"

namespace pl::worker {

// Who this worker is: said in its hello, and stamped into every result as "worker" and "host"
// (when not empty), so that a result says where it ran.
struct WorkerIdentity {
  std::string name;  // PIPELINE_CHILD_NAME, or host:pid
  int64_t pid = 0;
  std::string host;
  uint32_t slots = 1;
};

// A message for the broker, encoded when it is made: a result is encoded once and the same
// bytes are sent again after a reconnect.
struct SendMessage {
  protocol::MessageType type;
  std::string envelope;

  // The body, decoded again (for tests and diagnostics); null when it does not decode.
  Value body() const;
};
struct StartItem {
  protocol::WorkItem item;
  TimePoint deadline;
};
struct CancelRunning {
  std::string item_id;
  uint32_t attempt;
  std::string reason;
};
// Drop the connection and make a new one (new identity), whose hello follows: nothing still
// queued on the old one is read.
struct Reconnect {
  std::string why;
};
// Done (after max_items, or after a stop drained): say goodbye to the broker and exit 0.
struct Retire {
  size_t left_running = 0;  // items still running, left to the broker's redelivery
  size_t unacknowledged = 0;  // results sent that the broker has not acknowledged yet
};
using WorkerCommand = std::variant<SendMessage, StartItem, CancelRunning, Reconnect, Retire>;

class WorkerCore {
 public:
  // `max_items`: recycle after this many items; 0 = never.
  WorkerCore(WorkerIdentity identity, Duration heartbeat, uint32_t liveness,
             uint64_t max_items = 0);

  // A new connection is up (at start and after Reconnect): say hello.
  std::vector<WorkerCommand> on_connected(TimePoint now);
  // A message from the broker, already decoded (taken: the item's input moves on).
  std::vector<WorkerCommand> on_message(protocol::Message message, TimePoint now);
  // A kWorkItem, already decoded (the shell decodes this hot message straight into its struct):
  // the same as on_message with its envelope.
  std::vector<WorkerCommand> on_work_item(protocol::WorkItem&& item, TimePoint now);
  // A kResultAck, already decoded (the other message of each turn under load): the same as
  // on_message with its envelope.
  std::vector<WorkerCommand> on_result_ack(const std::vector<protocol::AckedAttempt>& acked,
                                           TimePoint now);
  // An item finished on a slot (whatever its outcome).
  std::vector<WorkerCommand> on_item_finished(FinishedItem result, TimePoint now);
  // Time passed: heartbeats, broker liveness, item deadlines.
  std::vector<WorkerCommand> on_tick(TimePoint now);
  // Asked to stop (SIGTERM): drain as when recycling (nothing more is taken; what runs finishes
  // and its results are acknowledged), then Retire; at `give_up_at` Retire anyway, leaving what
  // still runs to the broker's redelivery. A stop before then costs no item a second run.
  std::vector<WorkerCommand> on_stop(TimePoint now, TimePoint give_up_at);

  // When on_tick next has something to do.
  TimePoint next_deadline() const;

  size_t running() const { return running_.size(); }
  size_t unacknowledged() const { return unacked_.size(); }
  bool welcomed() const { return welcomed_; }
  const std::string& broker_instance() const { return broker_instance_; }
  uint64_t refused_items() const { return refused_items_; }
  // Results too large for one message, sent as too_large failures instead.
  uint64_t oversized_results() const { return oversized_results_; }
  bool draining() const { return draining_; }
  uint64_t items_taken() const { return taken_; }

 private:
  struct Running {
    uint32_t attempt;  // the attempt the run under way was started for
    TimePoint deadline;
    bool cancel_sent = false;
    bool timed_out = false;  // cancelled by us at its deadline: its cancel is reported as a timeout
    int64_t timeout_ms = 0;
    // The newest attempt the broker sent while this one ran: its result is reported under it.
    // The broker sends an item again when it gave up on the connection that had it (it fell
    // silent, so we reconnected); the run under way answers for it, instead of a second run.
    uint32_t report_as = 0;
    // A newer attempt sent while this one was being cancelled: started when this one ends.
    std::optional<protocol::WorkItem> next;
  };
  struct Unacked {
    uint32_t attempt;
    std::string envelope;  // the kWorkResult as sent
  };

  // hello, then every unacknowledged result again (and the draining notice, if draining).
  std::vector<WorkerCommand> introduce() const;
  SendMessage heartbeat() const;
  // Starts `item` on a free slot, or refuses it without one. A newer attempt of an item already
  // running is answered by that run (or follows it, when it is being cancelled): never two runs
  // of one item.
  // (Items by rvalue reference: each passes down these layers moved once, not at each.)
  void take_item(protocol::WorkItem&& item, std::vector<WorkerCommand>& out, TimePoint now);
  void start(protocol::WorkItem&& item, std::vector<WorkerCommand>& out, TimePoint now);
  // Forgets the results the broker has made durable.
  void take_ack(const std::vector<protocol::AckedAttempt>& acked, std::vector<WorkerCommand>& out,
                TimePoint now);
  // Appends Retire once a draining worker has nothing left to wait for.
  void maybe_retire(std::vector<WorkerCommand>& out, TimePoint now);

  WorkerIdentity identity_;
  Duration heartbeat_;
  uint32_t liveness_;
  TimePoint last_heard_{};
  TimePoint next_heartbeat_{};
  bool welcomed_ = false;
  std::string broker_instance_;
  std::unordered_map<std::string, Running> running_;  // item id -> attempt running here
  std::unordered_map<std::string, Unacked> unacked_;  // sent, not yet acknowledged
  uint64_t refused_items_ = 0;
  uint64_t oversized_results_ = 0;
  uint64_t max_items_ = 0;
  uint64_t taken_ = 0;
  bool draining_ = false;
  bool retired_ = false;
  std::optional<TimePoint> ack_wait_until_;  // draining and idle: acknowledgements until then
  std::optional<TimePoint> stop_by_;         // asked to stop: retire by then whatever runs
};

}  // namespace pl::worker
