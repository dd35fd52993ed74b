#include "worker/worker_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace pl::worker {

using protocol::MessageType;

namespace {

SendMessage encoded(MessageType type, const Value& body) {
  return SendMessage{type, protocol::encode(type, body)};
}

// A result the broker could not take (its sockets and decoder refuse a frame over
// max_frame_bytes, and a refused frame cuts the connection) replaced by a failure that says so
// and keeps what was paid for, so the step fails once instead of being sent after every
// reconnect and run again on every worker.
Value oversized_result(const Value& result, size_t bytes, size_t limit) {
  Value failed;
  failed["success"] = false;
  failed["error"] = "the step's result takes " + std::to_string(bytes) + " bytes, more than the " +
                    std::to_string(limit) + " a message to the broker may carry";
  failed["error_code"] = std::string(error_code_name(ErrorCode::kTooLarge));
  for (const char* kept : {"usage", "cost_usd", "model", "provider"}) {
    if (const Value* v = result.find(kept)) failed[kept] = *v;
  }
  return failed;
}

// An attempt we cancelled at its deadline ended as the step's executor ends any cancel
// ("cancelled: deadline passed"); it timed out, which `retry` retries and a cancel is not.
// Results of another outcome (it finished, or failed otherwise, before it saw the cancel) stand.
void as_timeout(Value& result, int64_t timeout_ms) {
  if (result.get_bool("success") ||
      result.get_string("error_code") != error_code_name(ErrorCode::kCancelled)) {
    return;
  }
  // What it was doing, as its cancel said: what comes before "cancelled" ("anthropic: POST URL:
  // cancelled", "tool fetch: cancelled: deadline passed").
  std::string doing = result.get_string("error");
  doing.resize(std::min(doing.size(), doing.find("cancelled")));
  while (!doing.empty() && (doing.back() == ' ' || doing.back() == ':')) doing.pop_back();
  result["error"] = "timed out after " + std::to_string(timeout_ms) + " ms" +
                    (doing.empty() ? "" : ", in " + doing);
  result["error_code"] = std::string(error_code_name(ErrorCode::kTimeout));
}

// The result of an attempt that never ran. `refused`: for want of a free slot, which is no
// failure of the item (the broker sends it again).
SendMessage not_run(const std::string& item_id, uint32_t attempt, const std::string& error,
                    ErrorCode code, bool refused = false) {
  protocol::WorkResult result;
  result.item_id = item_id;
  result.attempt = attempt;
  result.result["success"] = false;
  result.result["error"] = error;
  result.result["error_code"] = std::string(error_code_name(code));
  if (refused) result.result["refused"] = true;
  return encoded(MessageType::kWorkResult, protocol::to_body(result));
}

}  // namespace

Value SendMessage::body() const {
  auto decoded = protocol::decode(envelope);
  return decoded.ok() ? std::move(decoded->body) : Value();
}

WorkerCore::WorkerCore(WorkerIdentity identity, Duration heartbeat, uint32_t liveness,
                       uint64_t max_items)
    : identity_(std::move(identity)),
      heartbeat_(heartbeat),
      liveness_(liveness),
      max_items_(max_items) {}

std::vector<WorkerCommand> WorkerCore::introduce() const {
  protocol::WorkerHello h;
  h.worker_name = identity_.name;
  h.pid = identity_.pid;
  h.host = identity_.host;
  h.slots = identity_.slots;
  Value held = Value::array();
  auto add_held = [&held](const std::string& id, uint32_t attempt, bool cancelling) {
    Value entry;
    entry["id"] = id;
    entry["attempt"] = attempt;
    if (cancelling) entry["cancelling"] = true;
    held.push_back(std::move(entry));
  };
  for (const auto& [id, run] : running_) {
    // A broker that follows the one that cancelled an attempt learns of the cancel here: it
    // does not take that attempt's answer for the item's own.
    add_held(id, run.report_as, run.cancel_sent);
    if (run.next) add_held(id, run.next->attempt, false);
  }
  h.held = std::move(held);
  std::vector<WorkerCommand> out{encoded(MessageType::kWorkerHello, protocol::to_body(h))};
  // Whatever the broker did not acknowledge may not be durable there: send it again.
  for (const auto& [id, result] : unacked_) {
    out.push_back(SendMessage{MessageType::kWorkResult, result.envelope});
  }
  if (draining_) out.push_back(heartbeat());
  return out;
}

SendMessage WorkerCore::heartbeat() const {
  protocol::Heartbeat hb;
  hb.free_slots = identity_.slots - static_cast<uint32_t>(std::min<size_t>(running_.size(), identity_.slots));
  Value body = protocol::to_body(hb);
  if (draining_) body["draining"] = true;
  return encoded(MessageType::kWorkerHeartbeat, body);
}

void WorkerCore::maybe_retire(std::vector<WorkerCommand>& out, TimePoint now) {
  if (!draining_ || retired_) return;
  const bool out_of_time = stop_by_ && now >= *stop_by_;
  if (!running_.empty() && !out_of_time) return;
  if (!unacked_.empty() && !out_of_time) {
    // Results not yet durable at the broker: wait for their acks, but not forever.
    if (!ack_wait_until_) ack_wait_until_ = now + heartbeat_ * liveness_;
    if (now < *ack_wait_until_) return;
  }
  retired_ = true;
  out.push_back(Retire{running_.size(), unacked_.size()});
}

std::vector<WorkerCommand> WorkerCore::on_stop(TimePoint now, TimePoint give_up_at) {
  std::vector<WorkerCommand> out;
  stop_by_ = stop_by_ ? std::min(*stop_by_, give_up_at) : give_up_at;
  if (!draining_) {
    draining_ = true;
    out.push_back(heartbeat());  // the broker sends nothing more
  }
  maybe_retire(out, now);
  return out;
}

std::vector<WorkerCommand> WorkerCore::on_connected(TimePoint now) {
  welcomed_ = false;
  last_heard_ = now;
  next_heartbeat_ = now + heartbeat_;
  return introduce();
}

std::vector<WorkerCommand> WorkerCore::on_message(protocol::Message message, TimePoint now) {
  last_heard_ = now;
  std::vector<WorkerCommand> out;
  switch (message.type) {
    case MessageType::kWelcome: {
      auto welcome = protocol::welcome_from(message.body);
      if (!welcome.ok()) break;
      welcomed_ = true;
      broker_instance_ = welcome->broker_instance;
      if (welcome->heartbeat_ms > 0) heartbeat_ = std::chrono::milliseconds(welcome->heartbeat_ms);
      if (welcome->liveness > 0) liveness_ = welcome->liveness;
      break;
    }
    case MessageType::kReconnect:
      // The broker does not know us: it restarted, or gave us up. A new connection, not a hello
      // on this one: what its predecessor sent and we have not read yet (work items, cancels)
      // would otherwise be taken after the hello, unknown to the broker that now counts our
      // slots; it dispatches or adopts all of that itself.
      out.push_back(
          Reconnect{"the broker does not know this worker (it restarted, or gave it up)"});
      break;
    case MessageType::kBrokerHeartbeat:
      break;
    case MessageType::kResultAck: {
      auto ack = protocol::result_ack_from(message.body);
      if (ack.ok()) take_ack(protocol::acked_attempts(*ack), out, now);
      break;
    }
    case MessageType::kWorkItem: {
      auto item = protocol::work_item_from(std::move(message.body));
      if (item.ok()) take_item(std::move(*item), out, now);
      break;
    }
    case MessageType::kCancelItem: {
      auto cancel = protocol::cancel_item_from(message.body);
      if (!cancel.ok()) break;
      auto it = running_.find(cancel->item_id);
      if (it == running_.end()) break;
      Running& run = it->second;
      if (run.next && run.next->attempt == cancel->attempt) {
        // Not started yet: answered at once, so that the broker frees its slot.
        out.push_back(not_run(cancel->item_id, cancel->attempt,
                              "cancelled before it started: " + cancel->reason,
                              ErrorCode::kCancelled));
        run.next.reset();
      } else if (run.report_as == cancel->attempt && !run.cancel_sent) {
        run.cancel_sent = true;
        out.push_back(CancelRunning{cancel->item_id, run.attempt, cancel->reason});
      }
      break;
    }
    default:
      break;
  }
  return out;
}

std::vector<WorkerCommand> WorkerCore::on_result_ack(
    const std::vector<protocol::AckedAttempt>& acked, TimePoint now) {
  last_heard_ = now;
  std::vector<WorkerCommand> out;
  take_ack(acked, out, now);
  return out;
}

void WorkerCore::take_ack(const std::vector<protocol::AckedAttempt>& acked,
                          std::vector<WorkerCommand>& out, TimePoint now) {
  for (const auto& [id, attempt] : acked) {
    auto it = unacked_.find(std::string(id));
    if (it != unacked_.end() && it->second.attempt == attempt) unacked_.erase(it);
  }
  maybe_retire(out, now);
}

std::vector<WorkerCommand> WorkerCore::on_work_item(protocol::WorkItem&& item, TimePoint now) {
  last_heard_ = now;
  std::vector<WorkerCommand> out;
  take_item(std::move(item), out, now);
  return out;
}

void WorkerCore::take_item(protocol::WorkItem&& item, std::vector<WorkerCommand>& out,
                           TimePoint now) {
  if (auto it = running_.find(item.item_id); it != running_.end()) {
    Running& run = it->second;
    if (item.attempt <= run.report_as || (run.next && item.attempt <= run.next->attempt)) {
      return;  // a copy of what we have
    }
    if (run.cancel_sent) {
      // The cancelled run ends first: one run of an item at a time. An attempt waiting already
      // is answered, so that every attempt the broker sent frees its slot there.
      if (run.next) {
        out.push_back(not_run(run.next->item_id, run.next->attempt,
                              "superseded by attempt " + std::to_string(item.attempt),
                              ErrorCode::kCancelled));
      }
      run.next = std::move(item);
    } else {
      run.report_as = item.attempt;
    }
    return;
  }
  if (stop_by_ || retired_) {
    // Stopping: an item the broker sent before it read our draining heartbeat would likely be
    // cut short at the stop's end and run again; refused, the broker sends it again 100 ms
    // later (to another worker), without counting a failure.
    out.push_back(not_run(item.item_id, item.attempt, "worker " + identity_.name + " is stopping",
                          ErrorCode::kRetryLater, /*refused=*/true));
    return;
  }
  if (running_.size() >= identity_.slots) {
    // Credit says this cannot happen; if it does, refuse loudly rather than queue.
    ++refused_items_;
    out.push_back(not_run(item.item_id, item.attempt,
                          "worker " + identity_.name + " has no free slot", ErrorCode::kRetryLater,
                          /*refused=*/true));
    return;
  }
  start(std::move(item), out, now);
  ++taken_;
  if (max_items_ > 0 && taken_ >= max_items_ && !draining_) {
    // The last one: ask for nothing more. This heartbeat reaches the broker before the
    // result of the item just taken, so no credit it returns is used again.
    draining_ = true;
    out.push_back(heartbeat());
  }
}

void WorkerCore::start(protocol::WorkItem&& item, std::vector<WorkerCommand>& out, TimePoint now) {
  const TimePoint deadline = now + std::chrono::milliseconds(std::max<int64_t>(item.timeout_ms, 1));
  Running run;
  run.attempt = item.attempt;
  run.deadline = deadline;
  run.timeout_ms = item.timeout_ms;
  run.report_as = item.attempt;
  running_[item.item_id] = std::move(run);
  out.push_back(StartItem{std::move(item), deadline});
}

std::vector<WorkerCommand> WorkerCore::on_item_finished(FinishedItem result, TimePoint now) {
  std::optional<protocol::WorkItem> next;
  auto it = running_.find(result.item_id);
  if (it != running_.end() && it->second.attempt == result.attempt) {
    if (it->second.timed_out) as_timeout(result.result, it->second.timeout_ms);
    result.attempt = it->second.report_as;
    next = std::move(it->second.next);
    running_.erase(it);
  }
  // Stamped with where, when and how long it ran as it is packed, not by inserting members.
  const protocol::ResultStamp stamp{identity_.name, identity_.host, result.timing};
  std::string envelope =
      protocol::encode_work_result(result.item_id, result.attempt, result.result, stamp);
  if (const size_t limit = protocol::DecodeLimits{}.max_frame_bytes; envelope.size() > limit) {
    ++oversized_results_;
    spdlog::warn("item {} attempt {}: result of {} bytes is over the {} a message may carry; "
                 "sent as a too_large failure",
                 result.item_id, result.attempt, envelope.size(), limit);
    envelope = protocol::encode_work_result(result.item_id, result.attempt,
                                            oversized_result(result.result, envelope.size(), limit),
                                            stamp);
  }
  unacked_[result.item_id] = Unacked{result.attempt, envelope};
  std::vector<WorkerCommand> out{SendMessage{MessageType::kWorkResult, std::move(envelope)}};
  if (next && stop_by_) {
    out.push_back(not_run(next->item_id, next->attempt, "worker " + identity_.name + " is stopping",
                          ErrorCode::kRetryLater, /*refused=*/true));
  } else if (next) {
    start(std::move(*next), out, now);
  }
  maybe_retire(out, now);
  return out;
}

std::vector<WorkerCommand> WorkerCore::on_tick(TimePoint now) {
  std::vector<WorkerCommand> out;
  if (stop_by_ && now >= *stop_by_) {  // a stop out of time: before anything else
    maybe_retire(out, now);
    if (!out.empty()) return out;
  }
  if (now - last_heard_ >= heartbeat_ * liveness_) {
    // The broker is silent: a new connection (new identity) and a new hello.
    out.push_back(Reconnect{"no word from the broker within its liveness"});
    return out;
  }
  if (now >= next_heartbeat_) {
    out.push_back(heartbeat());
    next_heartbeat_ = now + heartbeat_;
  }
  for (auto& [id, run] : running_) {
    if (!run.cancel_sent && now >= run.deadline) {
      run.cancel_sent = true;
      run.timed_out = true;
      out.push_back(CancelRunning{id, run.attempt, "deadline passed"});
    }
  }
  maybe_retire(out, now);
  return out;
}

TimePoint WorkerCore::next_deadline() const {
  TimePoint next = std::min(next_heartbeat_, last_heard_ + heartbeat_ * liveness_);
  for (const auto& [id, run] : running_) {
    if (!run.cancel_sent) next = std::min(next, run.deadline);
  }
  if (ack_wait_until_ && !retired_) next = std::min(next, *ack_wait_until_);
  if (stop_by_ && !retired_) next = std::min(next, *stop_by_);
  return next;
}

}  // namespace pl::worker
