#include "broker/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/backoff.h"
#include "common/protocol/work.h"

namespace pl::broker {

using protocol::MessageType;

namespace {

Value failure(std::string message, ErrorCode code) {
  Value v;
  v["success"] = false;
  v["error"] = std::move(message);
  v["error_code"] = std::string(error_code_name(code));
  return v;
}

}  // namespace

Dispatcher::Dispatcher(DispatchConfig config, uint64_t random_seed)
    : config_(std::move(config)), random_(random_seed) {}

bool Dispatcher::submit(WorkSpec spec) {
  const std::string id = spec.item_id;
  auto [it, inserted] = items_.try_emplace(id);
  if (!inserted) return false;
  it->second.spec = std::move(spec);
  ready_.push_back(id);
  return true;
}

void Dispatcher::drop(std::unordered_map<std::string, Item>::iterator it, std::string_view reason) {
  Item& item = it->second;
  if (item.state == ItemState::kInFlight) {
    --in_flight_count_;
    // The worker keeps the credit until it answers the cancel (its result is then stale).
    protocol::CancelItem cancel{it->first, item.attempt, std::string(reason)};
    send(item.worker, MessageType::kCancelItem, protocol::to_body(cancel));
  }
  // Entries left in retry_at_ and deadlines_ are skipped when met.
  items_.erase(it);
}

void Dispatcher::cancel_run(std::string_view run_id) {
  for (auto it = items_.begin(); it != items_.end();) {
    auto next = std::next(it);
    if (it->second.spec.run_id == run_id) drop(it, "run cancelled");
    it = next;
  }
  std::erase_if(ready_, [this](const std::string& id) { return !items_.count(id); });
}

void Dispatcher::cancel_item(std::string_view item_id) {
  auto it = items_.find(std::string(item_id));
  if (it == items_.end()) return;
  drop(it, "no longer needed");
  std::erase_if(ready_, [&](const std::string& id) { return id == item_id; });
}

void Dispatcher::send(std::string_view identity, MessageType type, const Value& body) {
  outbox_.push_back(WorkerFrame{std::string(identity), protocol::encode(type, body)});
}

void Dispatcher::release_credit(std::string_view identity, const std::string& item_id) {
  if (WorkerRecord* worker = roster_.find(identity)) {
    if (worker->held.erase(item_id)) roster_.credit_returned(identity);
  }
}

void Dispatcher::on_worker_message(std::string_view identity, const protocol::Message& message,
                                   TimePoint now) {
  if (message.type == MessageType::kWorkerHello) {
    handle_hello(identity, message.body, now);
    return;
  }
  WorkerRecord* worker = roster_.find(identity);
  if (!worker) {
    // A worker we do not know (we restarted, or declared it dead): ask it to say hello. Its
    // result, if this is one, is still taken: attempts decide staleness, not identities.
    ++counters_.unknown_workers;
    // Once per heartbeat is enough: a worker says hello once, however much it had queued.
    auto told = reconnect_told_.find(std::string(identity));
    if (told == reconnect_told_.end() || now - told->second >= config_.heartbeat) {
      if (reconnect_told_.size() > 10000) reconnect_told_.clear();
      reconnect_told_[std::string(identity)] = now;
      send(identity, MessageType::kReconnect, Value::object());
    }
    if (message.type == MessageType::kWorkResult) handle_result(identity, message.body, now);
    return;
  }
  worker->last_heard = now;
  switch (message.type) {
    case MessageType::kWorkerHeartbeat:
      break;
    case MessageType::kWorkResult:
      handle_result(identity, message.body, now);
      break;
    case MessageType::kWorkerBye:
      worker_lost(identity, "said goodbye", now);
      break;
    default:
      spdlog::warn("worker {} sent an unexpected {}", worker->name,
                   protocol::message_type_name(message.type));
      break;
  }
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
  // Items the worker still runs occupy its slots until it reports them; queued items among
  // them (we restarted and recovered their runs) are adopted rather than dispatched again.
  std::vector<std::pair<std::string, uint32_t>> adopt;
  if (hello->held.is_array()) {
    for (const auto& held : hello->held.as_array()) {
      const std::string id = held.get_string("id");
      if (id.empty()) continue;
      record.held.insert(id);
      adopt.emplace_back(id, static_cast<uint32_t>(held.get_int("attempt", 1)));
    }
  }
  if (WorkerRecord* previous = roster_.find(identity)) {
    for (const auto& id : previous->held) record.held.insert(id);
  }
  for (const auto& [id, attempt] : adopt) {
    auto it = items_.find(id);
    if (it == items_.end() || it->second.state != ItemState::kQueued) continue;
    Item& item = it->second;
    item.state = ItemState::kInFlight;
    item.attempt = attempt;
    item.dispatched_here = true;
    item.worker = std::string(identity);
    item.deadline = now + std::chrono::milliseconds(item.spec.timeout_ms) + config_.deadline_grace;
    deadlines_.emplace(item.deadline, id);
    ++in_flight_count_;
    ++counters_.adopted;
  }
  spdlog::info("worker {} (pid {}, {} slot{}) joined", record.name, record.pid, record.slots,
               record.slots == 1 ? "" : "s");
  roster_.join(std::move(record));
  protocol::Welcome welcome;
  welcome.broker_instance = config_.instance_id;
  welcome.heartbeat_ms = std::chrono::duration_cast<std::chrono::milliseconds>(config_.heartbeat).count();
  welcome.liveness = config_.liveness;
  send(identity, MessageType::kWelcome, protocol::to_body(welcome));
}

void Dispatcher::handle_result(std::string_view identity, const Value& body, TimePoint now) {
  auto result = protocol::work_result_from(body);
  if (!result.ok()) {
    spdlog::warn("bad work result: {}", result.error().message);
    return;
  }
  release_credit(identity, result->item_id);
  // Acknowledged whatever becomes of it (sent after the turn's commit): a stale result is
  // one the worker may forget as well.
  Value ack;
  ack["id"] = result->item_id;
  ack["attempt"] = result->attempt;
  pending_acks_[std::string(identity)].push_back(std::move(ack));
  auto it = items_.find(result->item_id);
  if (it != items_.end() && it->second.state == ItemState::kQueued && !it->second.dispatched_here) {
    // Finished under the previous broker process: take it rather than run the item again.
    Item& item = it->second;
    item.attempt = result->attempt;
    item.dispatched_here = true;
    ++counters_.adopted;
    if (result->result.get_bool("success")) {
      complete(item, std::move(result->result));
    } else {
      attempt_failed(item, std::move(result->result), now);
    }
    return;
  }
  if (it == items_.end() || it->second.state != ItemState::kInFlight ||
      it->second.attempt != result->attempt) {
    ++counters_.stale_results;
    spdlog::debug("stale result for {} attempt {} discarded", result->item_id, result->attempt);
    return;
  }
  Item& item = it->second;
  // The holder may differ from the sender when the worker reconnected with a new identity.
  if (item.worker != identity) release_credit(item.worker, result->item_id);
  --in_flight_count_;
  item.worker.clear();
  if (WorkerRecord* worker = roster_.find(identity)) ++worker->items_done;
  if (result->result.get_bool("success")) {
    complete(item, std::move(result->result));
  } else {
    attempt_failed(item, std::move(result->result), now);
  }
}

void Dispatcher::attempt_failed(Item& item, Value result, TimePoint now) {
  ++item.failures;
  const ErrorCode code = error_code_from_name(result.get_string("error_code", "internal"));
  item.last_error = result;
  if (item.failures < item.spec.retry.max_attempts && may_retry(item.spec.retry, code)) {
    const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
    const int64_t delay = retry_delay_ms(item.spec.retry, item.failures, unit);
    item.state = ItemState::kRetryWait;
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
  result["attempts"] = static_cast<int64_t>(item.attempt);
  if (result.get_bool("success")) {
    ++counters_.completed;
  } else {
    ++counters_.failed;
  }
  completions_.push_back(
      Completion{item.spec.item_id, item.spec.run_id, item.spec.step_name, std::move(result)});
  items_.erase(item.spec.item_id);  // `item` dangles from here on
}

void Dispatcher::worker_lost(std::string_view identity, std::string_view why, TimePoint now) {
  auto record = roster_.leave(identity);
  if (!record) return;
  size_t redelivered = 0;
  for (const auto& id : record->held) {
    auto it = items_.find(id);
    if (it == items_.end() || it->second.state != ItemState::kInFlight ||
        it->second.worker != identity) {
      continue;
    }
    Item& item = it->second;
    --in_flight_count_;
    item.worker.clear();
    ++item.deaths;
    if (item.deaths >= config_.poison_threshold) {
      ++counters_.poisoned;
      Value result = failure("item lost its worker " + std::to_string(item.deaths) +
                                 " times; given up as poison (last: " + std::string(why) + ")",
                             ErrorCode::kInternal);
      result["poison"] = true;
      complete(item, std::move(result));
      continue;
    }
    item.state = ItemState::kQueued;
    ready_.push_front(id);  // redelivered ahead of new work
    ++counters_.redelivered;
    ++redelivered;
  }
  spdlog::warn("worker {} (pid {}) lost: {}; {} item(s) redelivered", record->name, record->pid,
               why, redelivered);
  pump(now);
}

void Dispatcher::on_process_exited(int64_t pid, TimePoint now) {
  // Only local workers: the supervisor that tells us runs on this host.
  for (WorkerRecord* worker : roster_.all()) {
    if (worker->pid == pid && (config_.local_host.empty() || worker->host == config_.local_host)) {
      worker_lost(std::string(worker->identity), "process exited", now);
      return;
    }
  }
}

void Dispatcher::on_tick(TimePoint now) {
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
    auto [deadline, id] = *deadlines_.begin();
    deadlines_.erase(deadlines_.begin());
    auto it = items_.find(id);
    if (it == items_.end() || it->second.state != ItemState::kInFlight ||
        it->second.deadline != deadline) {
      continue;  // answered, cancelled or redelivered meanwhile
    }
    Item& item = it->second;
    ++counters_.timeouts;
    --in_flight_count_;
    // The worker keeps the credit until it lets go (its late result is then stale).
    protocol::CancelItem cancel{id, item.attempt, "deadline passed"};
    send(item.worker, MessageType::kCancelItem, protocol::to_body(cancel));
    item.worker.clear();
    attempt_failed(item,
                   failure("timed out after " + std::to_string(item.spec.timeout_ms) + " ms",
                           ErrorCode::kTimeout),
                   now);
  }

  while (!retry_at_.empty() && retry_at_.begin()->first <= now) {
    const std::string id = retry_at_.begin()->second;
    retry_at_.erase(retry_at_.begin());
    auto it = items_.find(id);
    if (it == items_.end() || it->second.state != ItemState::kRetryWait) continue;
    it->second.state = ItemState::kQueued;
    ready_.push_back(id);
  }
  pump(now);
}

std::vector<WorkerFrame> Dispatcher::take_outbox() {
  for (auto& [identity, acks] : pending_acks_) {
    send(identity, MessageType::kResultAck, protocol::to_body(protocol::ResultAck{std::move(acks)}));
  }
  pending_acks_.clear();
  return std::exchange(outbox_, {});
}

void Dispatcher::pump(TimePoint now) {
  if (now < hold_until_) return;
  while (!ready_.empty()) {
    const std::string id = ready_.front();
    auto it = items_.find(id);
    if (it == items_.end() || it->second.state != ItemState::kQueued) {
      ready_.pop_front();  // cancelled or already moved on
      continue;
    }
    WorkerRecord* worker = roster_.next_with_credit();
    if (!worker) return;
    ready_.pop_front();
    Item& item = it->second;
    item.state = ItemState::kInFlight;
    item.dispatched_here = true;
    ++item.attempt;
    item.worker = worker->identity;
    item.deadline = now + std::chrono::milliseconds(item.spec.timeout_ms) + config_.deadline_grace;
    deadlines_.emplace(item.deadline, id);
    worker->held.insert(id);
    ++in_flight_count_;
    ++counters_.dispatched;

    protocol::WorkItem message;
    message.item_id = id;
    message.attempt = item.attempt;
    message.timeout_ms = item.spec.timeout_ms;
    message.run_id = item.spec.run_id;
    message.step_name = item.spec.step_name;
    message.step_type = item.spec.step_type;
    message.input = item.spec.input;
    message.context = item.spec.context;
    send(worker->identity, MessageType::kWorkItem, protocol::to_body(message));
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
  if (hold_until_ > now && !ready_.empty()) next = std::min(next, hold_until_);
  return next;
}

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

}  // namespace pl::broker
