// The tree as `status` shows it (docs/control-api.md).
#include <filesystem>

#include "supervisor/supervisor_core.h"

namespace pl::supervisor {
namespace {

int64_t uptime_ms(const Child& c, TimePoint now) {
  if (c.state == ChildState::kStopped) return 0;
  return std::chrono::duration_cast<milliseconds>(now - c.started_at).count();
}

}  // namespace

std::string_view SupervisorCore::state_name(const Child& c) {
  switch (c.state) {
    case ChildState::kStopped: return c.restart_queued ? "restarting" : "stopped";
    case ChildState::kStarting: return "starting";
    case ChildState::kRunning: return "running";
    case ChildState::kStopping: return "stopping";
  }
  return "stopped";
}

Value SupervisorCore::child_status(const Child& c, TimePoint now) const {
  Value v = Value::object();
  v["name"] = c.name;
  v["type"] = std::string(to_string(c.type));
  v["pid"] = c.pid;
  v["state"] = std::string(state_name(c));
  v["uptime_ms"] = uptime_ms(c, now);
  v["restarts"] = c.restarts;
  if (c.last_exit) {
    Value e = Value::object();
    e["status"] = static_cast<int64_t>(c.last_exit->exit_status);
    e["signal"] = static_cast<int64_t>(c.last_exit->signal);
    e["time_ms"] = c.last_exit->time_ms;
    v["last_exit"] = std::move(e);
  } else {
    v["last_exit"] = Value();
  }
  if (!c.status_text.empty()) v["status_text"] = c.status_text;
  if (c.type == ChildType::kWorker) {
    // Which program it runs, whatever it is called here (pipelinectl looks for the broker so).
    v["program"] = std::filesystem::path(c.process().executable).filename().string();
  }
  if (c.type == ChildType::kWorker && c.process().max_memory_bytes > 0) {
    v["max_memory"] = static_cast<int64_t>(c.process().max_memory_bytes);
    if (c.pid != 0) v["memory_enforcement"] = c.memory_in_cgroup ? "cgroup" : "rss";
  }
  if (c.node) {
    if (c.type == ChildType::kPool) {
      v["count"] = c.node->target_count;
      v["max_children"] = c.spec->max_children;
    } else {
      v["strategy"] = std::string(to_string(c.node->flags.strategy));
    }
    Value kids = Value::array();
    for (const auto& k : c.node->children) kids.push_back(child_status(*k, now));
    v["children"] = std::move(kids);
  }
  return v;
}

Value SupervisorCore::status(TimePoint now) const {
  Value v = Value::object();
  v["name"] = root_->name;
  v["state"] = std::string(state_name(*root_));
  v["uptime_ms"] = uptime_ms(*root_, now);
  v["strategy"] = std::string(to_string(root_->node->flags.strategy));
  Value kids = Value::array();
  for (const auto& k : root_->node->children) kids.push_back(child_status(*k, now));
  v["children"] = std::move(kids);
  return v;
}

}  // namespace pl::supervisor
