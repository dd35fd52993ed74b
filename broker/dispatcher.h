// The dispatcher: a pure state machine that hands items to workers and gets every item a final
// outcome exactly once.
//
// - Credit: a worker holds at most the slots it announced (WorkerRoster).
// - Every dispatch is an attempt with a number and a deadline; a result for any attempt but the
//   one in flight, or from another worker process than the one holding it, is stale and
//   discarded (counted). One exception: a recovered item that this broker has not dispatched
//   yet takes a result a worker presents for it (work finished under the previous broker
//   process), instead of running it again, unless that result says it was cancelled.
// - A worker that leaves, dies (supervisor event) or falls silent (heartbeat liveness) has its
//   items redelivered at once; an item whose holders die `poison_threshold` times is given up as
//   poison.
// - A failed attempt is retried with backoff when the item's RetrySettings allow, and never
//   sooner than the result's retry_after_ms (up to max_retry_after); a passed
//   deadline cancels the attempt on the worker and counts as a timeout failure. A worker that
//   has not let go of a cancelled attempt `cancel_grace` later is given up and reported for
//   killing (take_kill_requests).
// - No item waits in the queue for ever: one that no worker could take for its whole timeout
//   (none connected) fails as `unavailable`, saying so, and is retried as its RetrySettings
//   allow. Waiting behind busy slots or a provider's max_concurrency is back-pressure, which
//   ends (running attempts end by their deadlines): the wait starts over. The queue wait and
//   the attempt share one deadline entry per item (deadlines_), so that the check costs nothing
//   per turn.
// - Items that call an LLM provider respect that provider's concurrency limit and its circuit
//   breaker: while it is open they fail fast with circuit_open instead of going out.
// - Heartbeats go to every worker each interval.
// Nothing here reads a clock or touches a socket: the shell passes `now` in and carries out the
// outbox. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/circuit_breaker.h"
#include "broker/work_spec.h"
#include "broker/worker_roster.h"
#include "common/clock.h"
#include "common/latency_histogram.h"
#include "common/protocol/envelope.h"
#include "common/protocol/work.h"

namespace pl::broker {

struct ProviderLimits {
  uint32_t max_concurrency = 0;  // items in flight at once; 0 = no limit
  BreakerSettings breaker;
};

struct DispatchConfig {
  Duration heartbeat = std::chrono::seconds(1);
  uint32_t liveness = 3;
  // Extra time a worker gets past an item's timeout to report the timeout itself.
  Duration deadline_grace = std::chrono::seconds(2);
  // How long a worker may keep a cancelled attempt before it is given up and killed.
  Duration cancel_grace = std::chrono::seconds(10);
  // The longest wait a failed attempt's retry_after_ms (a provider's Retry-After) is honoured
  // for before the next attempt; an item whose provider asks for more is not retried.
  Duration max_retry_after = std::chrono::minutes(10);
  uint32_t poison_threshold = 3;  // worker deaths while holding an item before it is poison
  std::string instance_id;        // this broker process's id, told to workers in the welcome
  std::string local_host;         // process exit events concern workers on this host only
  std::map<std::string, ProviderLimits> providers;  // by provider name
  ProviderLimits default_provider;                  // for providers not listed
};

// A frame for the worker socket: [identity, envelope].
struct WorkerFrame {
  std::string identity;
  std::string envelope;
};

// A worker that must be killed and replaced: it does not let go of work it was told to drop.
struct KillRequest {
  std::string worker_name;  // its PIPELINE_CHILD_NAME ("workers.2")
  int64_t pid = 0;
  std::string host;
  std::string reason;
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
  uint64_t moved_to_new_connection = 0;  // running items of a worker that reconnected
  uint64_t undelivered = 0;      // items whose worker could not be sent them: queued again
  uint64_t stale_attempts_cancelled = 0;  // given-up attempts a rejoining worker still ran
  uint64_t circuit_rejections = 0;  // items failed fast by an open circuit
  uint64_t workers_killed = 0;      // given up for not letting go of a cancelled attempt
  uint64_t queue_timeouts = 0;      // queued items that no worker took within their timeout
  uint64_t refused = 0;             // attempts a worker refused for want of a free slot: sent again
  uint64_t oversized_items = 0;     // items whose input no message could carry: failed too_large
};

// {count, sum_us, p50_us, p90_us, p99_us, max_us, buckets: [[upper_us, n], ...]} (non-empty
// buckets only), for status and for the supervisor's Prometheus histograms.
Value latency_summary(const LatencyHistogram& histogram);

class Dispatcher {
 public:
  Dispatcher(DispatchConfig config, uint64_t random_seed);

  // Queues an item for dispatch at `now`; it waits at most its timeout_ms for a worker. An
  // item id already known is ignored (returns false).
  bool submit(WorkSpec&& spec, TimePoint now);
  // Drops queued items of `run_id` and cancels its in-flight ones; none of them completes.
  void cancel_run(std::string_view run_id, TimePoint now);
  // The same for one item.
  void cancel_item(std::string_view item_id, TimePoint now);

  // A message from a worker (taken: a result's payload moves on to its completion).
  void on_worker_message(std::string_view identity, protocol::Message message, TimePoint now);
  // A kWorkResult from a worker, already decoded (the shell decodes this hot message straight
  // into its struct): the same as on_worker_message with its envelope.
  void on_work_result(std::string_view identity, protocol::WorkResult result, TimePoint now);
  // The work item (id, attempt) could not be sent to the worker at `identity` (the socket said
  // EHOSTUNREACH or would block): it never reached a worker, so it is queued again as if that
  // attempt had not been made. `gone`: no connection has that identity any more; the record
  // takes no new items and ages out by liveness.
  void on_undelivered(std::string_view identity, const std::string& item_id, uint32_t attempt,
                      bool gone, TimePoint now);
  // A local process exited (from the supervisor's event stream).
  void on_process_exited(int64_t pid, TimePoint now);
  // Heartbeats, liveness, deadlines, due retries, cancel graces; then dispatches what it can.
  void on_tick(TimePoint now);
  // Dispatches queued items to workers with credit.
  void pump(TimePoint now);
  // Dispatches nothing before `until`: after a restart, workers get that long to say hello and
  // declare what they still hold, so that it is adopted instead of run twice.
  void hold_dispatch_until(TimePoint until) { hold_until_ = until; }
  // While recovered runs replay their recorded results (after the broker is ready, a bounded
  // number per turn), a worker may report an item its run has not submitted again yet: one it
  // still holds (its hello) or one it finished. Such an item is parked, not taken for stale, and
  // adopted when its run submits it, so that it is not run twice. A parked result is
  // acknowledged only once adopted. Turning replaying off forgets what was never submitted
  // (those results count as stale and are acknowledged, as they would have been at once).
  void set_replaying(bool replaying);
  bool replaying() const { return replaying_; }

  TimePoint next_deadline(TimePoint now) const;

  // Frames to send now: work, cancellations, heartbeats, replies that promise nothing durable.
  std::vector<WorkerFrame> take_outbox() { return std::exchange(outbox_, {}); }
  // Acknowledgements of the results received since the last call, one frame per worker.
  // REQUIRES before sending them: the completions taken meanwhile are durable (acks promise it:
  // a worker forgets an acknowledged result).
  std::vector<WorkerFrame> take_acks();
  std::vector<Completion> take_completions() { return std::exchange(completions_, {}); }
  std::vector<KillRequest> take_kill_requests() { return std::exchange(kills_, {}); }

  // Introspection for status and metrics.
  size_t queued() const { return queued_count_; }
  size_t in_flight() const { return in_flight_count_; }
  size_t waiting_retry() const { return retry_count_; }
  // Items without a final outcome: queued, in flight or waiting to retry.
  size_t outstanding() const { return items_.size(); }
  const DispatchCounters& counters() const { return counters_; }
  WorkerRoster& roster() { return roster_; }
  const WorkerRoster& roster() const { return roster_; }
  // Where an item is, for status: "queued", "in_flight", "retry_wait", or "" when unknown.
  std::string item_state(std::string_view item_id) const;
  // The identity holding the item's current attempt, or "".
  std::string holder_of(std::string_view item_id) const;
  // From dispatch to result, for every result of a current attempt, in microseconds.
  const LatencyHistogram& item_latency() const { return item_latency_; }
  // {provider: {state, in_flight, max_concurrency, consecutive_failures, times_opened, results,
  // errors, errors_by_code: {code: n}, latency: latency_summary(...)}} for status.
  Value provider_status(TimePoint now) const;

 private:
  enum class ItemState { kQueued, kInFlight, kRetryWait };
  struct Item {
    WorkSpec spec;
    ItemState state = ItemState::kQueued;
    uint32_t attempt = 0;   // of the last dispatch
    uint32_t failures = 0;  // counted against spec.retry.max_attempts
    uint32_t deaths = 0;    // holders that died while running it
    bool dispatched_here = false;  // by this broker process (false for a recovered item)
    // Its current attempt falls back without calling its provider, whose circuit is open
    // (WorkSpec::falls_back_without_provider): the provider's counts and breaker leave it out.
    bool without_provider = false;
    std::string worker;     // identity holding the current attempt
    // Its entry in deadlines_ while queued (the end of its wait for a worker) or in flight (the
    // attempt's deadline); removed when it leaves those states, so that the map holds only
    // items that are waiting or running (not every attempt of the last `timeout`). The entry
    // moves from one deadline to the next without being allocated again.
    std::optional<std::multimap<TimePoint, std::string>::iterator> deadline_entry;
    TimePoint dispatched_at{};
    // The usage of its failed attempts that were retried, summed (null: none): they were paid
    // for, so the final result's usage includes them.
    Value retried_usage;
    // The usage of those failures that said a later attempt may reuse their paid answer
    // (kAnswerMayBeSavedKey): a reused answer (kReusedUsageKey) with the same tokens is that
    // one, counted already; one with other tokens was paid by an attempt that never reported.
    std::vector<Value> reusable_answers;
  };
  struct ProviderState {
    ProviderLimits limits;
    CircuitBreaker breaker;
    uint32_t in_flight = 0;
    uint64_t results = 0;  // attempts that reported (or timed out)
    std::map<std::string, uint64_t> errors_by_code;
    LatencyHistogram latency;  // dispatch to result
  };
  using ItemMap = std::unordered_map<std::string, Item>;

  void handle_hello(std::string_view identity, const Value& body, TimePoint now);
  // The item whose current attempt is `attempt`, in flight at `identity`; null otherwise.
  Item* running_attempt(const std::string& item_id, std::string_view identity, uint32_t attempt);
  // Whether a result from `sender` answers for an attempt held at `holder`: the holder itself,
  // or another connection of the same worker process.
  bool may_answer_for(std::string_view sender, const std::string& holder);
  // The worker at `identity` said hello holding `attempt` of the item, which it was told to
  // cancel and is stopping.
  void held_while_cancelling(std::string_view identity, const std::string& item_id,
                             uint32_t attempt, TimePoint now);
  // Other records of the process `record` is a new connection of: given its `running`
  // attempts, and set to take no new items.
  void supersede_old_connections(const WorkerRecord& record,
                                 const std::vector<std::pair<std::string, uint32_t>>& running);
  // Any message but a hello: the sender's record, now heard from; or null for a worker we do
  // not know, which is told to say hello (once per heartbeat).
  WorkerRecord* heard_from(std::string_view identity, TimePoint now);
  // Sets the worker's untracked slots from the free slots its heartbeat reports. Everything a
  // worker runs was sent by a broker, and its answers reach us before its next heartbeat, so
  // its busy slots never exceed what it holds here unless it runs work we do not count.
  void reconcile_credit(WorkerRecord& worker, const Value& heartbeat);
  void handle_result(std::string_view identity, protocol::WorkResult result, TimePoint now);
  // A queued item that this broker process did not dispatch, taken over from a worker that ran
  // it under the previous one: still running there, or finished with `result`.
  void adopt_in_flight(Item& item, std::string_view identity, uint32_t attempt, TimePoint now);
  void adopt_result(Item& item, protocol::WorkResult result, TimePoint now);
  // A submitted item that was parked while replaying is adopted now.
  void adopt_parked(Item& item);
  void worker_lost(std::string_view identity, std::string_view why, TimePoint now);
  void attempt_failed(Item& item, Value result, TimePoint now);
  // The worker at `identity` had no free slot for the item's attempt (its result says
  // `refused`): queued again shortly, not counted as a failure.
  void refused_by_worker(Item& item, std::string_view identity, const std::string& why,
                         TimePoint now);
  void complete(Item& item, Value result);
  void complete(ItemMap::iterator it, Value result);
  void send(std::string_view identity, protocol::MessageType type, const Value& body);
  // Tells the worker at `identity` to stop the attempt; it is given up (killed) if it has not
  // let go when config.cancel_grace ends.
  void cancel_attempt(std::string_view identity, const std::string& item_id, uint32_t attempt,
                      std::string_view reason, TimePoint now);
  void release_credit(std::string_view identity, const std::string& item_id, uint32_t attempt);
  void drop(ItemMap::iterator it, std::string_view reason, TimePoint now);
  // Sends the item's next attempt to `worker`; false when it could not be sent and was failed
  // instead (an input too large for a message).
  bool dispatch(Item& item, WorkerRecord& worker, TimePoint now,
                std::optional<std::string> circuit_open = std::nullopt);
  // Queues the item for a worker, for at most its timeout from `now`.
  void enqueue(Item& item, bool front, TimePoint now);
  // Moves an item between states, keeping the counts right; leaving kInFlight tells the
  // provider's bookkeeping whether the attempt reported (`outcome`) or was abandoned.
  void set_state(Item& item, ItemState state);
  void leave_flight(Item& item, const Value* outcome, TimePoint now);
  void set_deadline(Item& item, TimePoint deadline);
  void clear_deadline(Item& item);
  // A queued item's wait passed: it fails as unavailable, saying what kept it waiting.
  void queue_wait_passed(Item& item, TimePoint now);
  void cancel_on_worker(Item& item, std::string_view reason, TimePoint now);
  ProviderState* provider(const std::string& name);
  // `context` packed for a work item. The items of a run share one context, and come in a row:
  // it is packed again only when another comes.
  const std::string& packed_context(const std::shared_ptr<const Value>& context);

  DispatchConfig config_;
  WorkerRoster roster_;
  ItemMap items_;  // every item without a final outcome
  // Queued item ids per provider ("" = not a provider call), in dispatch order. Entries whose
  // item left the queued state are skipped when met.
  std::map<std::string, std::deque<std::string>> ready_;
  std::map<std::string, ProviderState> providers_;
  std::multimap<TimePoint, std::string> retry_at_;
  std::multimap<TimePoint, std::string> deadlines_;  // queue waits and attempts (deadline_entry)
  struct CancelGrace {
    std::string identity;
    std::string item_id;
    uint32_t attempt = 0;
  };
  std::multimap<TimePoint, CancelGrace> cancel_graces_;
  size_t queued_count_ = 0;
  size_t in_flight_count_ = 0;
  size_t retry_count_ = 0;
  std::vector<WorkerFrame> outbox_;
  // identity -> [(item id, attempt)]
  std::unordered_map<std::string, std::vector<std::pair<std::string, uint32_t>>> pending_acks_;
  std::unordered_map<std::string, TimePoint> reconnect_told_;  // identity -> when told
  TimePoint hold_until_{};
  TimePoint last_worker_seen_{};  // when the last worker left the roster (epoch: none ever came)
  bool replaying_ = false;
  struct ParkedResult {
    std::string worker;
    protocol::WorkResult result;
  };
  std::unordered_map<std::string, ParkedResult> parked_results_;  // by item id
  std::unordered_map<std::string, std::pair<std::string, uint32_t>> parked_held_;  // id -> who, attempt
  TimePoint now_{};  // the latest time a call brought: for adoptions at submit()
  TimePoint last_tick_{};  // of on_tick: a gap of over two heartbeats is a stall of ours
  std::vector<Completion> completions_;
  std::vector<KillRequest> kills_;
  DispatchCounters counters_;
  LatencyHistogram item_latency_;
  std::mt19937_64 random_;
  std::shared_ptr<const Value> packed_context_of_;  // the context packed_context_ holds
  std::string packed_context_;
};

}  // namespace pl::broker
