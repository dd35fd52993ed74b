// The dispatcher: a pure state machine that hands items to workers and gets every item a final
// outcome exactly once.
//
// - Credit: a worker holds at most the slots it announced (WorkerRoster).
// - Every dispatch is an attempt with a number and a deadline; a result for any attempt but the
//   one in flight is stale and discarded (counted). One exception: a recovered item that this
//   broker has not dispatched yet takes a result a worker presents for it (work finished under
//   the previous broker process), instead of running it again.
// - A worker that leaves, dies (supervisor event) or falls silent (heartbeat liveness) has its
//   items redelivered at once; an item whose holders die `poison_threshold` times is given up as
//   poison.
// - A failed attempt is retried with backoff when the item's RetrySettings allow; a passed
//   deadline cancels the attempt on the worker and counts as a timeout failure.
// - Heartbeats go to every worker each interval.
// Nothing here reads a clock or touches a socket: the shell passes `now` in and carries out the
// outbox. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/work_spec.h"
#include "common/protocol/work.h"
#include "broker/worker_roster.h"
#include "common/clock.h"
#include "common/protocol/envelope.h"

namespace pl::broker {

struct DispatchConfig {
  Duration heartbeat = std::chrono::seconds(1);
  uint32_t liveness = 3;
  // Extra time a worker gets past an item's timeout to report the timeout itself.
  Duration deadline_grace = std::chrono::seconds(2);
  uint32_t poison_threshold = 3;  // worker deaths while holding an item before it is poison
  std::string instance_id;        // this broker process's id, told to workers in the welcome
  std::string local_host;         // process exit events concern workers on this host only
};

// A frame for the worker socket: [identity, envelope].
struct WorkerFrame {
  std::string identity;
  std::string envelope;
};

struct DispatchCounters {
  uint64_t dispatched = 0;
  uint64_t completed = 0;
  uint64_t failed = 0;          // completed unsuccessfully
  uint64_t retried = 0;
  uint64_t redelivered = 0;     // after a worker died or left
  uint64_t stale_results = 0;
  uint64_t timeouts = 0;
  uint64_t poisoned = 0;
  uint64_t unknown_workers = 0;  // messages from identities we did not know
  uint64_t adopted = 0;          // items a worker still held after a broker restart
};

class Dispatcher {
 public:
  Dispatcher(DispatchConfig config, uint64_t random_seed);

  // Queues an item for dispatch. An item id already known is ignored (returns false).
  bool submit(WorkSpec spec);
  // Drops queued items of `run_id` and cancels its in-flight ones; none of them completes.
  void cancel_run(std::string_view run_id);
  // The same for one item.
  void cancel_item(std::string_view item_id);

  void on_worker_message(std::string_view identity, const protocol::Message& message, TimePoint now);
  // A local process exited (from the supervisor's event stream).
  void on_process_exited(int64_t pid, TimePoint now);
  // Heartbeats, liveness, deadlines, due retries; then dispatches what it can.
  void on_tick(TimePoint now);
  // Dispatches queued items to workers with credit.
  void pump(TimePoint now);
  // Dispatches nothing before `until`: after a restart, workers get that long to say hello and
  // declare what they still hold, so that it is adopted instead of run twice.
  void hold_dispatch_until(TimePoint until) { hold_until_ = until; }

  TimePoint next_deadline(TimePoint now) const;

  // Frames to send, acknowledgements of the results received since the last call included.
  // REQUIRES: the completions taken since the last call are durable (acks promise that).
  std::vector<WorkerFrame> take_outbox();
  std::vector<Completion> take_completions() { return std::exchange(completions_, {}); }

  // Introspection for status and metrics.
  size_t queued() const { return ready_.size(); }
  size_t in_flight() const { return in_flight_count_; }
  size_t waiting_retry() const { return retry_at_.size(); }
  // Items without a final outcome: queued, in flight or waiting to retry.
  size_t outstanding() const { return items_.size(); }
  const DispatchCounters& counters() const { return counters_; }
  WorkerRoster& roster() { return roster_; }
  const WorkerRoster& roster() const { return roster_; }
  // Where an item is, for status: "queued", "in_flight", "retry_wait", or "" when unknown.
  std::string item_state(std::string_view item_id) const;
  // The identity holding the item's current attempt, or "".
  std::string holder_of(std::string_view item_id) const;

 private:
  enum class ItemState { kQueued, kInFlight, kRetryWait };
  struct Item {
    WorkSpec spec;
    ItemState state = ItemState::kQueued;
    uint32_t attempt = 0;   // of the last dispatch
    uint32_t failures = 0;  // counted against spec.retry.max_attempts
    uint32_t deaths = 0;    // holders that died while running it
    bool dispatched_here = false;  // by this broker process (false for a recovered item)
    std::string worker;     // identity holding the current attempt
    TimePoint deadline{};
    Value last_error;       // {error, error_code} of the last failure
  };

  void handle_hello(std::string_view identity, const Value& body, TimePoint now);
  void handle_result(std::string_view identity, const Value& body, TimePoint now);
  void worker_lost(std::string_view identity, std::string_view why, TimePoint now);
  void attempt_failed(Item& item, Value result, TimePoint now);
  void complete(Item& item, Value result);
  void send(std::string_view identity, protocol::MessageType type, const Value& body);
  void release_credit(std::string_view identity, const std::string& item_id);
  void drop(std::unordered_map<std::string, Item>::iterator it, std::string_view reason);

  DispatchConfig config_;
  WorkerRoster roster_;
  std::unordered_map<std::string, Item> items_;  // every item without a final outcome
  std::deque<std::string> ready_;                // item ids to dispatch, in order
  std::multimap<TimePoint, std::string> retry_at_;
  std::multimap<TimePoint, std::string> deadlines_;  // in-flight attempts; stale entries skipped
  size_t in_flight_count_ = 0;
  std::vector<WorkerFrame> outbox_;
  std::unordered_map<std::string, Value> pending_acks_;  // identity -> [{id, attempt}]
  std::unordered_map<std::string, TimePoint> reconnect_told_;  // identity -> when told
  TimePoint hold_until_{};
  std::vector<Completion> completions_;
  DispatchCounters counters_;
  std::mt19937_64 random_;
};

}  // namespace pl::broker
