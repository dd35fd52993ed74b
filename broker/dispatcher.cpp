#include "broker/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/backoff.h"
#include "common/protocol/usage_sum.h"

namespace pl::broker {

using protocol::MessageType;

namespace {

// How long an item a worker refused for want of a slot waits before it is sent again.
constexpr std::chrono::milliseconds kRefusalWait{100};

// Whether an attempt's result says it was cancelled: it is not an outcome of the item.
bool reports_cancel(const Value& result) {
  const Value* code = result.find("error_code");
  return code && code->is_string() && code->as_string() == error_code_name(ErrorCode::kCancelled);
}

Value failure(std::string message, ErrorCode code) {
  Value v;
  v["success"] = false;
  v["error"] = std::move(message);
  v["error_code"] = std::string(error_code_name(code));
  return v;
}

// A worker's result as a run can state it: a boolean `success`, and a reason when it failed. A
// worker that sends less (a bug) fails the attempt saying so, keeping its usage, rather than a
// step failing with an empty reason.
void make_statable(Value& result) {
  const Value* success = result.find("success");
  if (!success || !success->is_bool()) {
    Value failed =
        failure("the worker's result has no success flag (true or false)", ErrorCode::kInternal);
    if (const Value* usage = result.find("usage")) failed["usage"] = *usage;
    result = std::move(failed);
    return;
  }
  if (success->as_bool()) return;
  const Value* error = result.find("error");
  if (!error || !error->is_string() || error->as_string().empty()) {
    result["error"] = "the step failed on its worker, which gave no reason";
  }
}

}  // namespace

Dispatcher::Dispatcher(DispatchConfig config, uint64_t random_seed)
    : config_(std::move(config)), random_(random_seed) {}

// ---------------------------------------------------------------------------------------------
// Bookkeeping

Dispatcher::ProviderState* Dispatcher::provider(const std::string& name) {
  if (name.empty()) return nullptr;
  auto it = providers_.find(name);
  if (it == providers_.end()) {
    auto configured = config_.providers.find(name);
    const ProviderLimits limits =
        configured == config_.providers.end() ? config_.default_provider : configured->second;
    it = providers_
             .emplace(name, ProviderState{limits, CircuitBreaker(limits.breaker), 0, 0, {}, {}})
             .first;
  }
  return &it->second;
}

Dispatcher::Item* Dispatcher::running_attempt(const std::string& item_id,
                                              std::string_view identity, uint32_t attempt) {
  auto it = items_.find(item_id);
  if (it == items_.end()) return nullptr;
  Item& item = it->second;
  const bool current =
      item.state == ItemState::kInFlight && item.worker == identity && item.attempt == attempt;
  return current ? &item : nullptr;
}

void Dispatcher::set_state(Item& item, ItemState state) {
  auto count = [this](ItemState s) -> size_t& {
    switch (s) {
      case ItemState::kQueued:
        return queued_count_;
      case ItemState::kInFlight:
        return in_flight_count_;
      case ItemState::kRetryWait:
        return retry_count_;
    }
    return queued_count_;
  };
  --count(item.state);
  item.state = state;
  ++count(state);
}

void Dispatcher::leave_flight(Item& item, const Value* outcome, TimePoint now) {
  ProviderState* p = item.without_provider ? nullptr : provider(item.spec.provider);
  item.without_provider = false;
  if (p) {
    if (p->in_flight > 0) --p->in_flight;
    if (outcome) {
      const ErrorCode code = error_code_from_name(outcome->get_string("error_code", "internal"));
      const ProviderOutcome for_breaker = provider_outcome(*outcome);
      p->breaker.on_result(for_breaker.success, for_breaker.code, now);
      ++p->results;
      if (!outcome->get_bool("success")) ++p->errors_by_code[std::string(error_code_name(code))];
      p->latency.record(
          std::chrono::duration_cast<std::chrono::microseconds>(now - item.dispatched_at).count());
    } else {
      p->breaker.on_abandoned();
    }
  }
  item.worker.clear();
  clear_deadline(item);
}

void Dispatcher::set_deadline(Item& item, TimePoint deadline) {
  if (!item.deadline_entry) {
    item.deadline_entry = deadlines_.emplace(deadline, item.spec.item_id);
    return;
  }
  // From the queue wait to the attempt: the same node, moved, neither freed nor allocated.
  auto entry = deadlines_.extract(*item.deadline_entry);
  entry.key() = deadline;
  item.deadline_entry = deadlines_.insert(std::move(entry));
}

void Dispatcher::clear_deadline(Item& item) {
  if (!item.deadline_entry) return;
  deadlines_.erase(*item.deadline_entry);
  item.deadline_entry.reset();
}

void Dispatcher::enqueue(Item& item, bool front, TimePoint now) {
  auto& queue = ready_[item.spec.provider];
  if (front) {
    queue.push_front(item.spec.item_id);
  } else {
    queue.push_back(item.spec.item_id);
  }
  // While dispatch is held after a restart (hold_dispatch_until), the wait has not begun.
  set_deadline(item, std::max(now, hold_until_) + std::chrono::milliseconds(item.spec.timeout_ms));
}

void Dispatcher::send(std::string_view identity, MessageType type, const Value& body) {
  outbox_.push_back(WorkerFrame{std::string(identity), protocol::encode(type, body)});
}

void Dispatcher::release_credit(std::string_view identity, const std::string& item_id,
                                uint32_t attempt) {
  if (WorkerRecord* worker = roster_.find(identity)) {
    if (worker->held.erase(item_id, attempt)) roster_.credit_returned(identity);
  }
}

void Dispatcher::cancel_on_worker(Item& item, std::string_view reason, TimePoint now) {
  // The worker keeps the credit until it answers (its result is then stale); if it has not let
  // go when the grace ends, it is given up.
  cancel_attempt(item.worker, item.spec.item_id, item.attempt, reason, now);
}

void Dispatcher::cancel_attempt(std::string_view identity, const std::string& item_id,
                                uint32_t attempt, std::string_view reason, TimePoint now) {
  protocol::CancelItem cancel{item_id, attempt, std::string(reason)};
  send(identity, MessageType::kCancelItem, protocol::to_body(cancel));
  cancel_graces_.emplace(now + config_.cancel_grace,
                         CancelGrace{std::string(identity), item_id, attempt});
}

// ---------------------------------------------------------------------------------------------
// Items in

bool Dispatcher::submit(WorkSpec&& spec, TimePoint now) {
  now_ = now;
  auto [it, inserted] = items_.try_emplace(spec.item_id);
  if (!inserted) return false;
  it->second.spec = std::move(spec);
  if (!cancel_graces_.empty()) {
    // A worker may still run a cancelled attempt of this id (its run was cancelled, or a loop
    // gave it up, and it is submitted again): this item's attempts are numbered on from there,
    // so that the late answer of that attempt is stale here, not taken as one of this item's,
    // and each attempt frees its own slot.
    it->second.attempt = roster_.highest_held_attempt(it->first);
  }
  ++queued_count_;
  enqueue(it->second, /*front=*/false, now);
  if (replaying_) adopt_parked(it->second);
  return true;
}

void Dispatcher::set_replaying(bool replaying) {
  replaying_ = replaying;
  if (replaying) return;
  for (auto& [id, parked] : parked_results_) {
    pending_acks_[parked.worker].emplace_back(id, parked.result.attempt);
    ++counters_.stale_results;
  }
  if (!parked_results_.empty() || !parked_held_.empty()) {
    spdlog::info("replay done: {} result(s) and {} held item(s) of items no run asked for again",
                 parked_results_.size(), parked_held_.size());
  }
  parked_results_.clear();
  parked_held_.clear();
}

void Dispatcher::adopt_parked(Item& item) {
  const std::string id = item.spec.item_id;  // a copy: completing the item erases it
  auto held = parked_held_.find(id);
  auto parked = parked_results_.find(id);
  if (parked != parked_results_.end()) {  // finished: whatever the hello said before
    ParkedResult taken = std::move(parked->second);
    parked_results_.erase(parked);
    if (held != parked_held_.end()) parked_held_.erase(held);
    pending_acks_[taken.worker].emplace_back(id, taken.result.attempt);
    if (reports_cancel(taken.result.result)) {  // it did not run the item to its end: run it
      ++counters_.stale_results;
      item.attempt = std::max(item.attempt, taken.result.attempt);
      return;
    }
    adopt_result(item, std::move(taken.result), now_);
    return;
  }
  if (held == parked_held_.end()) return;
  auto [identity, attempt] = std::move(held->second);
  parked_held_.erase(held);
  if (WorkerRecord* worker = roster_.find(identity); worker && worker->held.contains(id, attempt)) {
    adopt_in_flight(item, identity, attempt, now_);
  }
}

void Dispatcher::adopt_in_flight(Item& item, std::string_view identity, uint32_t attempt,
                                 TimePoint now) {
  set_state(item, ItemState::kInFlight);
  item.attempt = attempt;
  item.dispatched_here = true;
  item.worker = std::string(identity);
  item.dispatched_at = now;  // as far as this broker knows
  set_deadline(item, now + std::chrono::milliseconds(item.spec.timeout_ms) + config_.deadline_grace);
  if (ProviderState* p = provider(item.spec.provider)) ++p->in_flight;
  ++counters_.adopted;
}

void Dispatcher::adopt_result(Item& item, protocol::WorkResult result, TimePoint now) {
  item.attempt = result.attempt;
  item.dispatched_here = true;
  ++counters_.adopted;
  if (result.result.get_bool("success")) {
    complete(item, std::move(result.result));
  } else {
    attempt_failed(item, std::move(result.result), now);
  }
}

void Dispatcher::drop(ItemMap::iterator it, std::string_view reason, TimePoint now) {
  Item& item = it->second;
  if (item.state == ItemState::kInFlight) {
    cancel_on_worker(item, reason, now);
    leave_flight(item, nullptr, now);
  }
  clear_deadline(item);
  // Entries left in ready_ and retry_at_ are skipped when met.
  set_state(item, ItemState::kQueued);
  --queued_count_;
  items_.erase(it);
}

void Dispatcher::cancel_run(std::string_view run_id, TimePoint now) {
  for (auto it = items_.begin(); it != items_.end();) {
    auto next = std::next(it);
    if (it->second.spec.run_id == run_id) drop(it, "run cancelled", now);
    it = next;
  }
}

void Dispatcher::cancel_item(std::string_view item_id, TimePoint now) {
  auto it = items_.find(std::string(item_id));
  if (it != items_.end()) drop(it, "no longer needed", now);
}

// ---------------------------------------------------------------------------------------------
// Worker messages

void Dispatcher::on_worker_message(std::string_view identity, protocol::Message message,
                                   TimePoint now) {
  now_ = now;
  if (message.type == MessageType::kWorkerHello) {
    handle_hello(identity, message.body, now);
    return;
  }
  WorkerRecord* worker = heard_from(identity, now);
  if (message.type == MessageType::kWorkResult) {
    // Taken from a worker we do not know as well: attempts decide staleness, not identities.
    // The attempt is read first: a result that does not decode still ends it now, as a
    // failure saying so, rather than at its deadline.
    const std::string item_id = message.body.get_string("id");
    const int64_t attempt = message.body.get_int("attempt", 0);
    auto result = protocol::work_result_from(std::move(message.body));
    if (!result.ok()) {
      spdlog::warn("bad work result from {}: {}", identity, result.error().message);
      if (item_id.empty() || attempt <= 0 || attempt > UINT32_MAX) return;
      result = protocol::WorkResult{
          item_id, static_cast<uint32_t>(attempt),
          failure("the worker's result could not be read: " + result.error().message,
                  ErrorCode::kInternal)};
    }
    handle_result(identity, std::move(*result), now);
    return;
  }
  if (!worker) return;
  switch (message.type) {
    case MessageType::kWorkerHeartbeat:
      // A worker about to recycle (worker.max_items) wants no more items: no credit from now
      // on (slots 0 marks it draining); what it holds is reported as usual.
      if (message.body.get_bool("draining") && worker->slots != 0) {
        spdlog::info("worker {} (pid {}) is draining: no more items for it", worker->name,
                     worker->pid);
        worker->slots = 0;
      }
      reconcile_credit(*worker, message.body);
      break;
    case MessageType::kWorkerBye:
      if (worker->slots == 0 && worker->held.empty()) {
        // A drained worker recycling (worker.max_items): nothing to redeliver, nothing wrong.
        spdlog::info("worker {} (pid {}) recycled", worker->name, worker->pid);
        roster_.leave(identity);
        last_worker_seen_ = now;
        break;
      }
      worker_lost(identity, "said goodbye", now);
      break;
    default:
      spdlog::warn("worker {} sent an unexpected {}", worker->name,
                   protocol::message_type_name(message.type));
      break;
  }
}

void Dispatcher::reconcile_credit(WorkerRecord& worker, const Value& heartbeat) {
  auto reported = protocol::heartbeat_from(heartbeat);
  if (!reported.ok()) {
    spdlog::warn("worker {} (pid {}): {}", worker.name, worker.pid, reported.error().message);
    return;
  }
  if (!heartbeat.find("free")) return;  // a worker that does not say
  const uint32_t before = worker.untracked;
  worker.reported_free(reported->free_slots);
  if (worker.untracked > before) {
    spdlog::warn(
        "worker {} (pid {}) has {} busy slot(s) running nothing this broker sent it: "
        "kept off its credit until they are free",
        worker.name, worker.pid, worker.untracked);
  } else if (worker.untracked < before) {
    roster_.credit_returned(worker.identity);
  }
}

void Dispatcher::on_work_result(std::string_view identity, protocol::WorkResult result,
                                TimePoint now) {
  now_ = now;
  heard_from(identity, now);
  handle_result(identity, std::move(result), now);
}

WorkerRecord* Dispatcher::heard_from(std::string_view identity, TimePoint now) {
  WorkerRecord* worker = roster_.find(identity);
  if (worker) {
    worker->last_heard = now;
    return worker;
  }
  // A worker we do not know (we restarted, or declared it dead): ask it to say hello.
  ++counters_.unknown_workers;
  // Once per heartbeat is enough: a worker says hello once, however much it had queued.
  auto told = reconnect_told_.find(std::string(identity));
  if (told == reconnect_told_.end() || now - told->second >= config_.heartbeat) {
    if (reconnect_told_.size() > 10000) reconnect_told_.clear();
    reconnect_told_[std::string(identity)] = now;
    send(identity, MessageType::kReconnect, Value::object());
  }
  return nullptr;
}

void Dispatcher::handle_hello(std::string_view identity, const Value& body, TimePoint now) {
  auto hello = protocol::worker_hello_from(body);
  if (!hello.ok()) {
    spdlog::warn("bad worker hello: {}", hello.error().message);
    return;
  }
  WorkerRecord record;
  record.identity = std::string(identity);
  record.name = hello->worker_name;
  record.pid = hello->pid;
  record.host = hello->host;
  record.slots = hello->slots;
  record.last_heard = now;
  record.next_heartbeat = now + config_.heartbeat;
  record.joined = now;
  // Attempts the worker still runs occupy its slots until it reports them. Below, each is
  // adopted (its item is queued: we restarted and recovered its run), moved from an older
  // connection of the same process, or cancelled (given up meanwhile).
  std::vector<std::pair<std::string, uint32_t>> running;
  std::vector<std::pair<std::string, uint32_t>> cancelling;  // told to stop, by us or before us
  if (hello->held.is_array()) {
    for (const auto& held : hello->held.as_array()) {
      const std::string id = held.get_string("id");
      if (id.empty()) continue;
      const auto attempt = static_cast<uint32_t>(held.get_int("attempt", 1));
      record.held.insert(id, attempt);
      running.emplace_back(id, attempt);
      if (held.get_bool("cancelling")) {
        cancelling.emplace_back(id, attempt);
        continue;
      }
      // Not submitted again yet while runs replay: adopted when it is (adopt_parked).
      if (replaying_ && !items_.count(id)) parked_held_[id] = {std::string(identity), attempt};
    }
  }
  if (WorkerRecord* previous = roster_.find(identity)) {
    for (const auto& [id, attempt] : previous->held) record.held.insert(id, attempt);
  }
  spdlog::info("worker {} (pid {}, {} slot{}) joined", record.name, record.pid, record.slots,
               record.slots == 1 ? "" : "s");
  supersede_old_connections(record, running);
  roster_.join(std::move(record));
  for (const auto& [id, attempt] : cancelling) held_while_cancelling(identity, id, attempt, now);
  for (const auto& [id, attempt] : running) {
    if (std::find(cancelling.begin(), cancelling.end(), std::pair{id, attempt}) !=
        cancelling.end()) {
      continue;
    }
    auto it = items_.find(id);
    if (it != items_.end() && it->second.state == ItemState::kQueued) {
      adopt_in_flight(it->second, identity, attempt, now);
      continue;
    }
    // Unknown: over, or (after a restart) not submitted again yet, when its result may still
    // be adopted; left to finish.
    if (it == items_.end() || running_attempt(id, identity, attempt)) continue;
    // An attempt given up on while the worker was silent past its liveness (frozen, starved,
    // cut off), that runs elsewhere now or waits to be retried: stopped rather than paid for to
    // the end for a result that will be discarded. It holds its slot until the worker lets go.
    cancel_attempt(identity, id, attempt, "the broker gave this attempt up", now);
    ++counters_.stale_attempts_cancelled;
  }
  protocol::Welcome welcome;
  welcome.broker_instance = config_.instance_id;
  welcome.heartbeat_ms = std::chrono::duration_cast<std::chrono::milliseconds>(config_.heartbeat).count();
  welcome.liveness = config_.liveness;
  send(identity, MessageType::kWelcome, protocol::to_body(welcome));
}

bool Dispatcher::may_answer_for(std::string_view sender, const std::string& holder) {
  if (sender == holder) return true;
  const WorkerRecord* from = roster_.find(sender);
  const WorkerRecord* held_by = roster_.find(holder);
  return from && held_by && from->same_process_as(*held_by);
}

void Dispatcher::held_while_cancelling(std::string_view identity, const std::string& item_id,
                                       uint32_t attempt, TimePoint now) {
  // The cancel may be our predecessor's (its run was cancelled, then this broker started and
  // the run was resumed): like our own cancels, the worker gets cancel_grace to let go, and the
  // item's next attempt is numbered on from this one, so that the cancelled attempt's answer is
  // never taken for the item's result and each attempt frees its own slot.
  cancel_graces_.emplace(now + config_.cancel_grace,
                         CancelGrace{std::string(identity), item_id, attempt});
  auto it = items_.find(item_id);
  if (it != items_.end() && it->second.state != ItemState::kInFlight) {
    it->second.attempt = std::max(it->second.attempt, attempt);
  }
}

void Dispatcher::supersede_old_connections(
    const WorkerRecord& record, const std::vector<std::pair<std::string, uint32_t>>& running) {
  // The same process under another identity: it reconnected because this broker fell silent
  // (stopped, starved, a network cut), and that connection is gone. What the process still runs
  // moves to the new identity, so that giving up the old one does not run it a second time; the
  // old one takes no new items and ages out by liveness. Whatever it holds then was lost in
  // transit (results the process finished come again after its hello, and are taken by attempt).
  for (WorkerRecord* old : roster_.all()) {
    if (old->identity == record.identity || !old->same_process_as(record)) continue;
    old->slots = 0;
    old->superseded = true;
    size_t moved = 0;
    for (const auto& [id, attempt] : running) {
      Item* item = running_attempt(id, old->identity, attempt);
      if (!item) continue;
      item->worker = record.identity;
      old->held.erase(id, attempt);
      ++moved;
    }
    counters_.moved_to_new_connection += moved;
    spdlog::info("worker {} (pid {}) reconnected: {} running item(s) moved to its new connection, "
                 "{} left on the old one until its liveness passes",
                 record.name, record.pid, moved, old->held.size());
  }
}

void Dispatcher::handle_result(std::string_view identity, protocol::WorkResult result,
                               TimePoint now) {
  make_statable(result.result);
  release_credit(identity, result.item_id, result.attempt);
  auto it = items_.find(result.item_id);
  if (it == items_.end() && replaying_) {
    // Its run has not submitted it again yet: kept, unacknowledged, for when it does.
    const std::string id = result.item_id;
    parked_results_[id] = ParkedResult{std::string(identity), std::move(result)};
    parked_held_.erase(id);
    return;
  }
  if (it != items_.end() && it->second.state == ItemState::kInFlight &&
      it->second.attempt == result.attempt && !may_answer_for(identity, it->second.worker)) {
    // The attempt's number, but not its worker. After a broker restart attempt numbers start
    // again: this is an attempt the previous broker process sent elsewhere (perhaps cancelled).
    if (!roster_.find(identity)) {
      // A connection that has not said hello: whose attempt it ran is known once it has. Not
      // acknowledged, so that the worker sends it again after its hello.
      spdlog::debug("result for {} attempt {} from a worker yet to say hello: kept for later",
                    result.item_id, result.attempt);
      return;
    }
    pending_acks_[std::string(identity)].emplace_back(result.item_id, result.attempt);
    ++counters_.stale_results;
    spdlog::debug("result for {} attempt {} from another worker than its holder discarded",
                  result.item_id, result.attempt);
    return;
  }
  // Acknowledged whatever becomes of it (sent after the next commit): a stale result is
  // one the worker may forget as well.
  pending_acks_[std::string(identity)].emplace_back(result.item_id, result.attempt);

  if (it != items_.end() && it->second.state == ItemState::kQueued && !it->second.dispatched_here &&
      result.attempt > it->second.attempt && !reports_cancel(result.result)) {
    // Finished under the previous broker process: take it rather than run the item again. (An
    // attempt at or below the item's own number is a cancelled one, of an earlier submission;
    // an attempt that says it was cancelled did not run the item to its end.)
    adopt_result(it->second, std::move(result), now);
    return;
  }
  if (it == items_.end() || it->second.state != ItemState::kInFlight ||
      it->second.attempt != result.attempt) {
    ++counters_.stale_results;
    spdlog::debug("stale result for {} attempt {} discarded", result.item_id, result.attempt);
    return;
  }
  Item& item = it->second;
  // The holder may be another connection of the sender's process (it reconnected).
  if (item.worker != identity) release_credit(item.worker, result.item_id, result.attempt);
  const bool success = result.result.get_bool("success");
  if (!success && result.result.get_bool("refused")) {
    leave_flight(item, nullptr, now);  // not an outcome: its provider learns nothing from it
    refused_by_worker(item, identity, result.result.get_string("error"), now);
    return;
  }
  item_latency_.record(
      std::chrono::duration_cast<std::chrono::microseconds>(now - item.dispatched_at).count());
  leave_flight(item, &result.result, now);
  if (WorkerRecord* worker = roster_.find(identity)) ++worker->items_done;
  if (success) {
    complete(it, std::move(result.result));  // found above: not looked up again
  } else {
    attempt_failed(item, std::move(result.result), now);
  }
}

void Dispatcher::refused_by_worker(Item& item, std::string_view identity, const std::string& why,
                                   TimePoint now) {
  // Credit says this cannot happen: the worker runs something this broker does not count. The
  // item did not run, so it is sent again without counting a failure, a moment later, to
  // another worker or to this one once its heartbeat shows a free slot.
  ++counters_.refused;
  WorkerRecord* worker = roster_.find(identity);
  // Full, whatever credit says: nothing more for it until a heartbeat shows a free slot.
  if (worker) worker->reported_free(0);
  spdlog::warn("item {} attempt {} refused by worker {} ({}): sent again in {} ms",
               item.spec.item_id, item.attempt, worker ? worker->name : "(not known)", why,
               kRefusalWait.count());
  clear_deadline(item);
  set_state(item, ItemState::kRetryWait);
  retry_at_.emplace(now + kRefusalWait, item.spec.item_id);
}

// ---------------------------------------------------------------------------------------------
// Outcomes

void Dispatcher::attempt_failed(Item& item, Value result, TimePoint now) {
  clear_deadline(item);  // a queued item's wait: it waits again only once retried
  ++item.failures;
  const ErrorCode code = error_code_from_name(result.get_string("error_code", "internal"));
  if (item.failures < item.spec.retry.max_attempts && may_retry(item.spec.retry, code)) {
    const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
    const int64_t requested = result.get_int("retry_after_ms", 0);
    const int64_t max_requested =
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.max_retry_after).count();
    const std::optional<int64_t> wait =
        next_attempt_delay_ms(item.spec.retry, item.failures, unit, requested, max_requested);
    if (!wait) {
      result["error"] = result.get_string("error") + " (not retried: the provider asks to wait " +
                        std::to_string(requested) + " ms, more than the broker's " +
                        "max_retry_after_ms of " + std::to_string(max_requested) + ")";
      complete(item, std::move(result));
      return;
    }
    const int64_t delay = *wait;
    if (const Value* usage = result.find("usage")) {
      item.retried_usage = protocol::sum_usage(item.retried_usage, *usage);
      if (result.get_bool(protocol::kAnswerMayBeSavedKey)) item.reusable_answers.push_back(*usage);
    }
    set_state(item, ItemState::kRetryWait);
    retry_at_.emplace(now + std::chrono::milliseconds(delay), item.spec.item_id);
    ++counters_.retried;
    spdlog::info("item {} attempt {} failed ({}); retry {} of {} in {} ms", item.spec.item_id,
                 item.attempt, result.get_string("error"), item.failures + 1,
                 item.spec.retry.max_attempts, delay);
    return;
  }
  complete(item, std::move(result));
}

void Dispatcher::complete(Item& item, Value result) {
  complete(items_.find(item.spec.item_id), std::move(result));
}

void Dispatcher::complete(ItemMap::iterator it, Value result) {
  Item& item = it->second;
  result["attempts"] = static_cast<int64_t>(item.attempt);
  if (const Value* reused = result.find(protocol::kReusedUsageKey)) {
    // Paid by an earlier attempt whose result never came, unless that attempt's failure
    // reported it already (its answer was saved without the worker hearing so). A saved turn
    // records the tokens of the whole call, as that failure's usage does.
    const auto same_call = [&](const Value& reported) {
      return reported.get_int("input_tokens") == reused->get_int("input_tokens") &&
             reported.get_int("output_tokens") == reused->get_int("output_tokens");
    };
    if (std::none_of(item.reusable_answers.begin(), item.reusable_answers.end(), same_call)) {
      const Value* usage = result.find("usage");
      result["usage"] = protocol::sum_usage(usage ? *usage : Value(), *reused);
    }
    result.as_object().erase(std::string(protocol::kReusedUsageKey));
  }
  if (!item.retried_usage.is_null()) {
    const Value* usage = result.find("usage");
    result["usage"] = protocol::sum_usage(item.retried_usage, usage ? *usage : Value());
  }
  const bool success = result.get_bool("success");
  if (success) {
    ++counters_.completed;
  } else {
    ++counters_.failed;
  }
  clear_deadline(item);
  set_state(item, ItemState::kQueued);
  --queued_count_;
  // Taken out whole, so that its id, run id and step name move to the completion.
  auto node = items_.extract(it);  // `item` dangles from here on
  WorkSpec& spec = node.mapped().spec;
  Completion& completion = completions_.emplace_back();
  completion.item_id = std::move(node.key());
  completion.run_id = std::move(spec.run_id);
  completion.step_name = std::move(spec.step_name);
  completion.result = std::move(result);
  completion.success = success;
  completion.tag = spec.tag;
  completion.input_digest = spec.input_digest;
}

void Dispatcher::worker_lost(std::string_view identity, std::string_view why, TimePoint now) {
  auto record = roster_.leave(identity);
  if (!record) return;
  last_worker_seen_ = now;
  size_t redelivered = 0;
  for (const auto& [id, attempt] : record->held) {
    Item* current = running_attempt(id, identity, attempt);
    if (!current) continue;
    Item& item = *current;
    leave_flight(item, nullptr, now);
    // A superseded connection's items were lost in transit: the process lives on.
    if (!record->superseded) ++item.deaths;
    if (item.deaths >= config_.poison_threshold) {
      ++counters_.poisoned;
      Value result = failure("item lost its worker " + std::to_string(item.deaths) +
                                 " times; given up as poison (last: " + std::string(why) + ")",
                             ErrorCode::kInternal);
      result["poison"] = true;
      complete(item, std::move(result));
      continue;
    }
    set_state(item, ItemState::kQueued);
    enqueue(item, /*front=*/true, now);  // redelivered ahead of new work
    ++counters_.redelivered;
    ++redelivered;
  }
  spdlog::warn("{}worker {} (pid {}) lost: {}; {} item(s) redelivered",
               record->superseded ? "old connection of " : "", record->name, record->pid, why,
               redelivered);
  pump(now);
}

void Dispatcher::on_undelivered(std::string_view identity, const std::string& item_id,
                                uint32_t attempt, bool gone, TimePoint now) {
  now_ = now;
  WorkerRecord* worker = roster_.find(identity);
  if (worker && gone && worker->slots != 0) {
    // Not superseded: the process may have died with what it ran, which liveness then counts.
    spdlog::warn("worker {} (pid {}) has no connection any more: no more items for it",
                 worker->name, worker->pid);
    worker->slots = 0;
  }
  release_credit(identity, item_id, attempt);
  Item* current = running_attempt(item_id, identity, attempt);
  if (!current) return;
  Item& item = *current;
  leave_flight(item, nullptr, now);
  --item.attempt;  // no worker ever had this one
  set_state(item, ItemState::kQueued);
  enqueue(item, /*front=*/true, now);
  ++counters_.undelivered;
}

void Dispatcher::on_process_exited(int64_t pid, TimePoint now) {
  now_ = now;
  // Only local workers: the supervisor that tells us runs on this host. Every connection of
  // the process: a reconnected one still has its old, superseded one until that ages out.
  std::vector<std::string> gone;
  for (const WorkerRecord* worker : roster_.all()) {
    if (worker->pid == pid && (config_.local_host.empty() || worker->host == config_.local_host)) {
      gone.push_back(worker->identity);
    }
  }
  for (const auto& identity : gone) worker_lost(identity, "process exited", now);
}

// ---------------------------------------------------------------------------------------------
// Time

void Dispatcher::on_tick(TimePoint now) {
  now_ = now;
  // The loop ticks at least once a heartbeat. A gap of more than two is a stall of this broker
  // (stopped, paused, starved of CPU, a slow disk): the workers' heartbeats waited unread
  // meanwhile, so the stall beyond one heartbeat is not counted as their silence. Otherwise a
  // stall past the liveness would give up every worker and run what they hold a second time.
  if (last_tick_ != TimePoint{} && now - last_tick_ > 2 * config_.heartbeat) {
    const Duration stalled = now - last_tick_ - config_.heartbeat;
    for (WorkerRecord* worker : roster_.all()) {
      worker->last_heard = std::min(now, worker->last_heard + stalled);
    }
  }
  last_tick_ = now;
  const Duration silence_limit = config_.heartbeat * config_.liveness;
  std::vector<std::string> silent;
  for (WorkerRecord* worker : roster_.all()) {
    if (now - worker->last_heard > silence_limit) {
      silent.push_back(worker->identity);
      continue;
    }
    if (now >= worker->next_heartbeat) {
      send(worker->identity, MessageType::kBrokerHeartbeat, Value::object());
      worker->next_heartbeat = now + config_.heartbeat;
    }
  }
  for (const auto& identity : silent) worker_lost(identity, "silent past its liveness", now);

  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const auto due = deadlines_.begin();
    auto it = items_.find(due->second);
    if (it == items_.end() || it->second.deadline_entry != due) {
      deadlines_.erase(due);  // cannot happen: an attempt takes its entry along when it ends
      continue;
    }
    Item& item = it->second;
    if (item.state == ItemState::kQueued) {
      queue_wait_passed(item, now);
      continue;
    }
    ++counters_.timeouts;
    const Value timed_out =
        failure("timed out after " + std::to_string(item.spec.timeout_ms) + " ms", ErrorCode::kTimeout);
    cancel_on_worker(item, "deadline passed", now);
    leave_flight(item, &timed_out, now);
    set_state(item, ItemState::kQueued);  // attempt_failed moves it on
    attempt_failed(item, timed_out, now);
  }

  while (!retry_at_.empty() && retry_at_.begin()->first <= now) {
    const std::string id = retry_at_.begin()->second;
    retry_at_.erase(retry_at_.begin());
    auto it = items_.find(id);
    if (it == items_.end() || it->second.state != ItemState::kRetryWait) continue;
    set_state(it->second, ItemState::kQueued);
    enqueue(it->second, /*front=*/false, now);
  }

  while (!cancel_graces_.empty() && cancel_graces_.begin()->first <= now) {
    const CancelGrace grace = std::move(cancel_graces_.begin()->second);
    cancel_graces_.erase(cancel_graces_.begin());
    const std::string& identity = grace.identity;
    const std::string& item_id = grace.item_id;
    WorkerRecord* worker = roster_.find(identity);
    if (!worker || !worker->held.contains(item_id, grace.attempt)) continue;  // it let go
    // It let go, and the item was submitted again (its run resumed) and sent back to it under
    // the same number: submit() numbers on from the attempts still held, none by then.
    if (running_attempt(item_id, identity, grace.attempt)) continue;
    ++counters_.workers_killed;
    kills_.push_back(KillRequest{worker->name, worker->pid, worker->host,
                                 "did not let go of " + item_id + " after a cancel"});
    worker_lost(identity, "did not let go of a cancelled item", now);
  }
  pump(now);
}

void Dispatcher::queue_wait_passed(Item& item, TimePoint now) {
  // Behind busy slots or a provider's max_concurrency the wait is back-pressure, and it ends:
  // every running attempt ends by its deadline (a worker that does not let go is replaced). Only
  // a queue that no worker serves can wait for ever, so the item fails only when no worker has
  // been connected for its whole timeout; else its wait starts over.
  // At least 1 ms, so that a wait that starts over always ends later than now.
  const auto timeout = std::chrono::milliseconds(std::max<int64_t>(item.spec.timeout_ms, 1));
  const TimePoint served_until = roster_.all().empty() ? last_worker_seen_ : now;
  if (now < hold_until_ || now - served_until < timeout) {
    set_deadline(item, std::max(hold_until_, served_until) + timeout);
    return;
  }
  ++counters_.queue_timeouts;
  Value failed = failure("no worker took the item within " + std::to_string(item.spec.timeout_ms) +
                             " ms: no worker is connected (pipelinectl scale workers N adds "
                             "some; remote workers need their link to the broker)",
                         ErrorCode::kUnavailable);
  spdlog::warn("item {}: {}", item.spec.item_id, failed.get_string("error"));
  // Its entry in ready_ is skipped when met: the item is no longer queued, or queued again.
  attempt_failed(item, std::move(failed), now);
}

bool Dispatcher::dispatch(Item& item, WorkerRecord& worker, TimePoint now,
                          std::optional<std::string> circuit_open) {
  // Told to the worker so that an executor knows its last chance (claude_robust's fallback).
  std::optional<protocol::RetryOutlook> retry;
  if (item.spec.tell_retries) {
    retry.emplace();
    retry->retries_left = std::max<int64_t>(
        0, static_cast<int64_t>(item.spec.retry.max_attempts) - item.failures - 1);
    retry->retry_on = item.spec.retry.retry_on;
    // attempt_failed() retries no failure whose provider asks to wait longer than this.
    retry->max_retry_after_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.max_retry_after).count();
    retry->circuit_open = circuit_open;
  }
  std::string frame = protocol::encode_work_item(
      item.spec.item_id, item.attempt + 1, item.spec.timeout_ms, item.spec.run_id,
      item.spec.step_name, item.spec.step_type, item.spec.input,
      protocol::PackedContext{packed_context(item.spec.context)}, retry ? &*retry : nullptr);
  // A worker's socket drops a larger frame with its connection: the worker would go silent, the
  // item be sent to the next one, and every worker be cut off in turn until it counted as poison.
  if (const size_t limit = protocol::DecodeLimits{}.max_frame_bytes; frame.size() > limit) {
    ++counters_.oversized_items;
    Value failed = failure("the step's input takes " + std::to_string(frame.size()) +
                               " bytes, more than the " + std::to_string(limit) +
                               " a message to a worker may carry",
                           ErrorCode::kTooLarge);
    spdlog::warn("item {}: {}", item.spec.item_id, failed.get_string("error"));
    complete(item, std::move(failed));
    roster_.credit_returned(worker.identity);  // its turn, taken for this item, is still free
    return false;
  }
  set_state(item, ItemState::kInFlight);
  item.dispatched_here = true;
  item.without_provider = circuit_open.has_value();
  ++item.attempt;
  item.worker = worker.identity;
  item.dispatched_at = now;
  set_deadline(item,
               now + std::chrono::milliseconds(item.spec.timeout_ms) + config_.deadline_grace);
  worker.held.add_new(item.spec.item_id, item.attempt);
  if (ProviderState* p = provider(item.spec.provider); p && !item.without_provider) ++p->in_flight;
  ++counters_.dispatched;
  outbox_.push_back(WorkerFrame{worker.identity, std::move(frame)});
  return true;
}

const std::string& Dispatcher::packed_context(const std::shared_ptr<const Value>& context) {
  if (packed_context_.empty() || context != packed_context_of_) {
    packed_context_ = protocol::pack_work_context(context ? *context : Value());
    packed_context_of_ = context;
  }
  return packed_context_;
}

void Dispatcher::pump(TimePoint now) {
  if (now < hold_until_) return;
  // One item per provider queue per round, so that no provider starves the others.
  for (bool progress = true; progress;) {
    progress = false;
    for (auto& [name, queue] : ready_) {
      while (!queue.empty()) {
        auto it = items_.find(queue.front());
        if (it != items_.end() && it->second.state == ItemState::kQueued) break;
        queue.pop_front();  // cancelled, completed or moved on: skip
      }
      if (queue.empty()) continue;
      Item& item = items_.find(queue.front())->second;
      ProviderState* p = provider(name);
      if (p && p->breaker.state(now) == CircuitBreaker::State::kOpen) {
        // Fail fast, for every worker at once: the provider is known to be down.
        const std::string why = "circuit breaker for provider " + name + " is open after " +
                                std::to_string(p->breaker.consecutive_failures()) +
                                " consecutive failures; it lets a probe through at its next "
                                "half-open";
        // At its last chance, an item that can fall back without the provider does so on a
        // worker, as it would after failing there (claude_robust's fallback_action).
        const bool last_chance = item.failures + 1 >= item.spec.retry.max_attempts ||
                                 !may_retry(item.spec.retry, ErrorCode::kCircuitOpen);
        if (item.spec.falls_back_without_provider && last_chance) {
          if (roster_.total_free_slots() == 0) return;
          WorkerRecord* worker = roster_.next_with_credit();
          if (!worker) return;
          queue.pop_front();
          dispatch(item, *worker, now, why);  // not a rejection: the item is answered
          progress = true;
          continue;
        }
        queue.pop_front();
        ++counters_.circuit_rejections;
        attempt_failed(item, failure(why, ErrorCode::kCircuitOpen), now);
        progress = true;
        continue;
      }
      if (p && p->limits.max_concurrency > 0 && p->in_flight >= p->limits.max_concurrency) continue;
      if (roster_.total_free_slots() == 0) return;
      if (p && !p->breaker.allow(now)) continue;  // half-open with its probe out
      WorkerRecord* worker = roster_.next_with_credit();
      if (!worker) {
        if (p) p->breaker.on_abandoned();
        return;
      }
      queue.pop_front();
      if (!dispatch(item, *worker, now) && p) p->breaker.on_abandoned();
      progress = true;
    }
  }
}

TimePoint Dispatcher::next_deadline(TimePoint now) const {
  TimePoint next = now + std::chrono::hours(1);
  const Duration silence_limit = config_.heartbeat * config_.liveness;
  for (const WorkerRecord* worker : roster_.all()) {
    next = std::min(next, worker->next_heartbeat);
    next = std::min(next, worker->last_heard + silence_limit);
  }
  if (!deadlines_.empty()) next = std::min(next, deadlines_.begin()->first);
  if (!retry_at_.empty()) next = std::min(next, retry_at_.begin()->first);
  if (!cancel_graces_.empty()) next = std::min(next, cancel_graces_.begin()->first);
  if (hold_until_ > now && queued_count_ > 0) next = std::min(next, hold_until_);
  // A provider breaker turning half-open lets queued items go: wake for it.
  for (const auto& [name, p] : providers_) {
    if (p.breaker.state(now) == CircuitBreaker::State::kOpen) {
      next = std::min(next, p.breaker.reopens_at());
    }
  }
  return next;
}

std::vector<WorkerFrame> Dispatcher::take_acks() {
  std::vector<WorkerFrame> frames;
  frames.reserve(pending_acks_.size());
  for (auto& [identity, acks] : pending_acks_) {
    frames.push_back(WorkerFrame{identity, protocol::encode_result_ack(acks)});
  }
  pending_acks_.clear();
  return frames;
}

// ---------------------------------------------------------------------------------------------
// Introspection

std::string Dispatcher::item_state(std::string_view item_id) const {
  auto it = items_.find(std::string(item_id));
  if (it == items_.end()) return "";
  switch (it->second.state) {
    case ItemState::kQueued:
      return "queued";
    case ItemState::kInFlight:
      return "in_flight";
    case ItemState::kRetryWait:
      return "retry_wait";
  }
  return "";
}

std::string Dispatcher::holder_of(std::string_view item_id) const {
  auto it = items_.find(std::string(item_id));
  return it == items_.end() ? "" : it->second.worker;
}

Value Dispatcher::provider_status(TimePoint now) const {
  Value out = Value::object();
  for (const auto& [name, p] : providers_) {
    Value entry;
    entry["state"] = std::string(breaker_state_name(p.breaker.state(now)));
    entry["in_flight"] = static_cast<int64_t>(p.in_flight);
    entry["max_concurrency"] = static_cast<int64_t>(p.limits.max_concurrency);
    entry["consecutive_failures"] = static_cast<int64_t>(p.breaker.consecutive_failures());
    entry["times_opened"] = static_cast<int64_t>(p.breaker.times_opened());
    entry["results"] = static_cast<int64_t>(p.results);
    Value codes = Value::object();
    int64_t errors = 0;
    for (const auto& [code, n] : p.errors_by_code) {
      codes[code] = static_cast<int64_t>(n);
      errors += static_cast<int64_t>(n);
    }
    entry["errors"] = errors;
    entry["errors_by_code"] = std::move(codes);
    entry["latency"] = latency_summary(p.latency);
    out[name] = std::move(entry);
  }
  return out;
}

Value latency_summary(const LatencyHistogram& h) {
  Value v;
  v["count"] = static_cast<int64_t>(h.count());
  v["sum_us"] = static_cast<int64_t>(h.mean() * static_cast<double>(h.count()) + 0.5);
  v["p50_us"] = h.percentile(0.50);
  v["p90_us"] = h.percentile(0.90);
  v["p99_us"] = h.percentile(0.99);
  v["max_us"] = h.max();
  Value buckets = Value::array();
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    if (h.bucket_count(i) == 0) continue;
    buckets.push_back(Value(
        Value::Array{LatencyHistogram::bucket_upper(i), static_cast<int64_t>(h.bucket_count(i))}));
  }
  v["buckets"] = std::move(buckets);
  return v;
}

}  // namespace pl::broker
