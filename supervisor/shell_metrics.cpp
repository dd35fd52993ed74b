// The shell's memory bounds (cgroups, RSS readings) and what it tells about itself: the full
// `status` and the facts behind /metrics and /health.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "common/backup_dirs.h"
#include "common/byte_size.h"
#include "supervisor/process_memory.h"
#include "supervisor/shell.h"

namespace pl::supervisor {
namespace {

// How long a failed bind of the metrics endpoint waits before the next try.
constexpr std::chrono::seconds kMetricsRetry{10};

bool any_max_memory(const ChildSpec& c) {
  if (c.type != ChildType::kSupervisor && c.process.max_memory_bytes > 0) return true;
  for (const auto& k : c.children) {
    if (any_max_memory(k)) return true;
  }
  return false;
}

// Whether a child of the tree, at any depth, runs `program` (its command's file name).
bool runs_program(const ChildSpec& spec, std::string_view program) {
  if (!spec.process.argv.empty() &&
      std::filesystem::path(spec.process.argv[0]).filename() == program) {
    return true;
  }
  return std::any_of(spec.children.begin(), spec.children.end(),
                     [&](const ChildSpec& child) { return runs_program(child, program); });
}

// The backups of the state directory, as `status` reports them: {complete, newest_ms?}, or
// {error} when backups/ cannot be listed.
Value backups_status(const std::filesystem::path& backups) {
  Value v = Value::object();
  auto summary = summarize_backups(backups);
  if (!summary.ok()) {
    v["error"] = summary.error().message;
    return v;
  }
  v["complete"] = static_cast<int64_t>(summary->complete);
  if (summary->newest) {
    v["newest_ms"] = unix_millis(*summary->newest);
  }
  return v;
}

void for_each_process(Value& node, const std::function<void(Value&)>& f) {
  Value* kids = node.find("children");
  if (kids == nullptr || !kids->is_array()) return;
  for (Value& k : kids->as_array()) {
    if (k.get_string("type") == "worker" && k.get_int("pid") > 0) f(k);
    for_each_process(k, f);
  }
}

}  // namespace

void SupervisorShell::set_up_cgroups() {
  if (!any_max_memory(options_.tree.root)) return;  // nothing to bound: leave cgroups alone
  if (options_.tree.cgroup == CgroupMode::kOff) {
    cgroup_note_ = "supervisor.cgroup is off";
  } else if (auto dir = ChildCgroups::find_delegated(); !dir.ok()) {
    cgroup_note_ = dir.error().message;
  } else if (auto taken = ChildCgroups::take_over(*dir); !taken.ok()) {
    cgroup_note_ = "cannot use " + dir->string() + ": " + taken.error().message;
  } else {
    cgroups_.emplace(std::move(*taken));
    spdlog::info("max_memory is enforced by cgroup v2 memory.max under {}",
                 cgroups_->dir().string());
    return;
  }
  spdlog::info("max_memory is enforced by watching RSS ({})", cgroup_note_);
}

void SupervisorShell::start_metrics(TimePoint now) {
  metrics_retry_at_.reset();
  if (!options_.metrics_listen) return;
  // A worker host's tree runs no broker: nothing to probe, and its health is the tree's own.
  std::string broker;
  if (runs_program(options_.tree.root, "pipeline-broker")) {
    // The broker binds the state directory's client socket whatever `broker.clients_endpoint`
    // says (that one is bound besides), so the probe needs no keys for a tcp:// one.
    auto local = paths_.broker_clients_endpoint();
    if (local.ok()) {
      broker = *local;
    } else {
      metrics_error_ = local.error().message;
      spdlog::error("metrics endpoint: {}", metrics_error_);
      return;
    }
  }
  auto endpoint = MetricsEndpoint::start(*options_.metrics_listen, options_.tree.metrics, context_,
                                         broker, [this] { return metrics_facts(); });
  if (!endpoint.ok()) {
    // The tree matters more than its metrics: it runs, the error is logged and shown in
    // `status`, and the bind is tried again.
    metrics_error_ = endpoint.error().message;
    metrics_retry_at_ = now + kMetricsRetry;
    spdlog::error("metrics endpoint: {}; trying again every {} s", metrics_error_,
                  kMetricsRetry.count());
    return;
  }
  metrics_ = std::move(*endpoint);
  metrics_error_.clear();
  // Tests and operators read the port from here when they asked for port 0.
  spdlog::info("metrics endpoint on http://{}/metrics", metrics_->bound().display());
}

std::optional<ChildReading> SupervisorShell::read_memory(pid_t pid) {
  auto rss = read_rss_bytes(pid);
  if (rss.ok()) return ChildReading{*rss, ""};
  if (processes_.has_exited(pid) || !processes_.contains(pid)) return std::nullopt;
  auto name = pid_names_.find(pid);
  ++measure_errors_[name != pid_names_.end() ? name->second : std::to_string(pid)];
  return ChildReading{std::nullopt, rss.error().message};
}

void SupervisorShell::measure_memory(const MeasureMemory& m) {
  auto reading = read_memory(static_cast<pid_t>(m.pid));
  if (!reading) return;  // it has exited: its exit comes next, and says more
  // A failure is logged as an error by its event (once per run of failures); each one here.
  if (!reading->rss_bytes)
    spdlog::debug("cannot read the memory of pid {}: {}", m.pid, reading->error);
  queue_.push_back(MemoryMeasured{m.pid, reading->rss_bytes, reading->error});
}

void SupervisorShell::note_exit(pid_t pid, const ProcessExited& e) {
  auto name = pid_names_.find(pid);
  auto baseline = oom_kills_at_spawn_.find(pid);
  if (name != pid_names_.end() && baseline != oom_kills_at_spawn_.end() && cgroups_ &&
      e.signal != 0) {
    const auto now_kills = cgroups_->oom_kills(name->second);
    if (now_kills && *now_kills > baseline->second) {
      PublishEvent ev;
      ev.kind = event_kind::kMemoryExceeded;
      ev.child = name->second;
      ev.pid = pid;
      ev.detail = "killed by the kernel's OOM killer: its cgroup reached memory.max";
      count_event(ev);
      events_->publish(ev, seams_.clock.wall_now());
    }
  }
  if (baseline != oom_kills_at_spawn_.end()) oom_kills_at_spawn_.erase(baseline);
  if (name != pid_names_.end()) pid_names_.erase(name);
}

void SupervisorShell::count_event(const PublishEvent& e) {
  ++event_counts_[e.kind];
  // Failed readings are counted where they fail (read_memory): the measure_failed event
  // reports only the first of a run of them.
  if (e.kind == event_kind::kMemoryExceeded) ++memory_exceeded_[e.child];
}

Value SupervisorShell::full_status() {
  Value status = core_.status(seams_.clock.now());
  status["pid"] = static_cast<int64_t>(::getpid());
  status["state_dir"] = paths_.dir().string();
  // Where a broker runs, its database is backed up into the state directory (a worker host has
  // nothing to back up).
  if (runs_program(options_.tree.root, "pipeline-broker")) {
    status["backups"] = backups_status(paths_.dir() / "backups");
  }
  for_each_process(status, [&](Value& child) {
    auto reading = read_memory(static_cast<pid_t>(child.get_int("pid")));
    if (!reading) return;
    if (reading->rss_bytes) {
      child["rss_bytes"] = static_cast<int64_t>(*reading->rss_bytes);
    } else {
      child["rss_error"] = reading->error;
    }
  });
  Value metrics = Value::object();
  if (metrics_) {
    metrics["listen"] = metrics_->bound().display();
  } else if (!metrics_error_.empty()) {
    metrics["error"] = metrics_error_;
  }
  status["metrics"] = std::move(metrics);
  status["memory_enforcement"] = cgroups_ ? "cgroup" : "rss";
  if (cgroups_) status["cgroup"] = cgroups_->dir().string();
  return status;
}

SupervisorFacts SupervisorShell::metrics_facts() {
  SupervisorFacts f;
  f.tree = core_.status(seams_.clock.now());
  for_each_process(f.tree, [&](Value& child) {
    if (auto reading = read_memory(static_cast<pid_t>(child.get_int("pid")))) {
      f.memory[child.get_string("name")] = *reading;
    }
  });
  f.events = event_counts_;
  f.memory_exceeded = memory_exceeded_;
  f.measure_errors = measure_errors_;
  f.memory_enforcement = cgroups_ ? "cgroup" : "rss";
  if (runs_program(options_.tree.root, "pipeline-broker")) {
    if (auto backups = summarize_backups(paths_.dir() / "backups"); backups.ok()) {
      f.backups = *backups;
    }
  }
  if (metrics_) {
    f.http_requests = metrics_->requests();
    f.http_refused = metrics_->refused();
    f.http_timed_out = metrics_->timed_out();
  }
  return f;
}

}  // namespace pl::supervisor
