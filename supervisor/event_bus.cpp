#include "supervisor/event_bus.h"

#include <spdlog/spdlog.h>

#include "common/protocol/envelope.h"

namespace pl::supervisor {

EventBus::EventBus(net::Socket pub, size_t history) : pub_(std::move(pub)), capacity_(history) {}

const protocol::ChildEvent& EventBus::publish(const PublishEvent& e, WallTime now) {
  protocol::ChildEvent ev;
  ev.seq = ++seq_;
  ev.time_ms = unix_millis(now);
  ev.child = e.child;
  ev.pid = e.pid;
  ev.kind = e.kind;
  ev.exit_status = e.exit_status;
  ev.signal = e.signal;
  ev.detail = e.detail;
  if (pub_.valid()) {
    auto sent = pub_.send({protocol::event_topic(ev), protocol::encode(protocol::MessageType::kChildEvent,
                                                                       protocol::to_body(ev))});
    if (!sent.ok()) spdlog::warn("publishing an event: {}", sent.error().message);
  }
  const bool bad = ev.kind == "escalated" || ev.kind == "gave_up" ||
                   ev.kind == "watchdog_timeout" || ev.kind == "ready_timeout" ||
                   ev.kind == "start_failed" || ev.kind == "killed" || ev.kind == "memory_exceeded";
  // A reading that failed is an error: a bound is not enforced meanwhile.
  const auto level = ev.kind == "measure_failed" ? spdlog::level::err
                     : bad                       ? spdlog::level::warn
                                                 : spdlog::level::info;
  spdlog::log(level, "{} {}{}{}", ev.kind, ev.child,
              ev.pid != 0 ? " pid " + std::to_string(ev.pid) : std::string(),
              ev.detail.empty() ? std::string() : ": " + ev.detail);
  kept_.push_back(std::move(ev));
  while (kept_.size() > capacity_) kept_.pop_front();
  return kept_.back();
}

Value EventBus::history(uint64_t after, size_t limit) const {
  Value list = Value::array();
  size_t skip = 0;
  size_t matching = 0;
  for (const auto& e : kept_) matching += e.seq > after ? 1 : 0;
  if (matching > limit) skip = matching - limit;  // the newest `limit`
  for (const auto& e : kept_) {
    if (e.seq <= after) continue;
    if (skip > 0) {
      --skip;
      continue;
    }
    list.push_back(protocol::to_body(e));
  }
  Value v = Value::object();
  v["events"] = std::move(list);
  v["last_seq"] = static_cast<int64_t>(seq_);
  return v;
}

}  // namespace pl::supervisor
