// A fake world for SupervisorCore: spawns succeed at once with made-up pids, signals kill at
// once (unless a child is told to ignore SIGTERM), READY=1 arrives at once for notify children
// (unless held). Everything the core asked for is recorded for the tests to assert on.
#pragma once

#include <csignal>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "supervisor/supervisor_core.h"

namespace pl::supervisor::testing {

class CoreDriver {
 public:
  explicit CoreDriver(ChildSpec root) : core_(std::move(root), [] { return 0.0; }) {}

  // Behaviour switches, by full child name.
  std::set<std::string> fail_spawn;     // SpawnFailed
  std::map<std::string, int> fail_spawn_times;  // SpawnFailed this many times, then succeed
  std::set<std::string> hold_ready;     // notify children that do not send READY=1 by themselves
  std::set<std::string> ignore_sigterm; // only SIGKILL stops them
  std::set<std::string> die_on_spawn;   // exit 1 right after the spawn (before READY=1)

  void start() { send(StartTree{}); }
  void shutdown() { send(ShutdownRequested{"test"}); }

  // Handles `e`, then everything it leads to in this instantaneous world.
  void send(CoreEvent e) {
    queue_.push_back(std::move(e));
    while (!queue_.empty()) {
      CoreEvent next = std::move(queue_.front());
      queue_.pop_front();
      for (auto& c : core_.handle(next, clock_.now())) run(c);
    }
  }

  // The process of `name` ends by itself.
  void exit(const std::string& name, int status) { end(name, status, 0); }
  void kill(const std::string& name, int sig = SIGKILL) { end(name, -1, sig); }
  void ready(const std::string& name) {
    NotifyReceived n;
    n.pid = pid(name);
    n.ready = true;
    send(n);
  }
  void extend(const std::string& name, int64_t us) {
    NotifyReceived n;
    n.pid = pid(name);
    n.extend_timeout_us = us;
    send(n);
  }
  void watchdog(const std::string& name) {
    NotifyReceived n;
    n.pid = pid(name);
    n.watchdog = true;
    send(n);
  }

  // Moves the fake clock; fires the core's timer when its deadline has passed.
  void advance(milliseconds d) {
    const TimePoint until = clock_.now() + d;
    for (;;) {
      auto next = core_.next_deadline();
      if (!next || *next > until) break;
      if (*next > clock_.now()) clock_.advance(*next - clock_.now());
      send(TimerFired{});
    }
    if (until > clock_.now()) clock_.advance(until - clock_.now());
  }

  int64_t pid(const std::string& name) const {
    auto it = pids_.find(name);
    return it == pids_.end() ? 0 : it->second;
  }
  bool running(const std::string& name) const { return pid(name) != 0; }

  // Names in the order things happened to them.
  std::vector<std::string> spawned() const { return spawned_; }
  std::vector<std::string> events(const std::string& kind) const {
    std::vector<std::string> out;
    for (const auto& e : published_) {
      if (e.kind == kind) out.push_back(e.child);
    }
    return out;
  }
  const std::vector<PublishEvent>& published() const { return published_; }
  // (name, signal) in the order sent.
  const std::vector<std::pair<std::string, int>>& signals() const { return signals_; }
  const std::vector<std::string>& manager_states() const { return manager_; }
  const std::vector<SendReply>& replies() const { return replies_; }
  std::optional<int> exit_code() const { return exit_; }
  void clear_history() {
    spawned_.clear();
    published_.clear();
    signals_.clear();
  }

  SupervisorCore& core() { return core_; }
  FakeClock& clock() { return clock_; }
  Value status() const { return core_.status(clock_.now()); }

 private:
  void end(const std::string& name, int status, int sig) {
    const int64_t p = pid(name);
    if (p == 0) return;
    pids_.erase(name);
    names_.erase(p);
    ProcessExited e;
    e.pid = p;
    e.exit_status = status;
    e.signal = sig;
    e.time_ms = 1000;
    send(e);
  }

  void run(const CoreCommand& c) {
    if (auto* s = std::get_if<SpawnProcess>(&c)) {
      spawned_.push_back(s->name);
      auto times = fail_spawn_times.find(s->name);
      const bool fail_now = times != fail_spawn_times.end() && times->second-- > 0;
      if (fail_spawn.count(s->name) || fail_now) {
        queue_.push_back(SpawnFailed{s->child, "exec failed: No such file or directory"});
        return;
      }
      const int64_t p = next_pid_++;
      pids_[s->name] = p;
      names_[p] = s->name;
      queue_.push_back(ProcessSpawned{s->child, p});
      if (die_on_spawn.count(s->name)) {
        pids_.erase(s->name);
        names_.erase(p);
        ProcessExited e;
        e.pid = p;
        e.exit_status = 1;
        queue_.push_back(e);
      } else if (s->spec->ready == ReadyMode::kNotify && !hold_ready.count(s->name)) {
        NotifyReceived n;
        n.pid = p;
        n.ready = true;
        queue_.push_back(n);
      }
    } else if (auto* k = std::get_if<SignalProcess>(&c)) {
      auto it = names_.find(k->pid);
      if (it == names_.end()) return;
      const std::string name = it->second;
      signals_.emplace_back(name, k->signal);
      if (k->signal == SIGTERM && ignore_sigterm.count(name)) return;
      pids_.erase(name);
      names_.erase(it);
      ProcessExited e;
      e.pid = k->pid;
      e.signal = k->signal;
      queue_.push_back(e);
    } else if (auto* e = std::get_if<PublishEvent>(&c)) {
      published_.push_back(*e);
    } else if (auto* m = std::get_if<NotifyManager>(&c)) {
      manager_.push_back(m->state);
    } else if (auto* r = std::get_if<SendReply>(&c)) {
      replies_.push_back(*r);
    } else if (auto* x = std::get_if<ExitProcess>(&c)) {
      exit_ = x->code;
    }
  }

  FakeClock clock_;
  SupervisorCore core_;
  std::deque<CoreEvent> queue_;
  std::map<std::string, int64_t> pids_;
  std::map<int64_t, std::string> names_;
  int64_t next_pid_ = 1000;
  std::vector<std::string> spawned_;
  std::vector<PublishEvent> published_;
  std::vector<std::pair<std::string, int>> signals_;
  std::vector<std::string> manager_;
  std::vector<SendReply> replies_;
  std::optional<int> exit_;
};

// Spec builders.
inline ChildSpec worker(std::string name, RestartType restart = RestartType::kPermanent,
                        ReadyMode ready = ReadyMode::kExec) {
  ChildSpec c;
  c.name = std::move(name);
  c.restart = restart;
  c.process.argv = {"/bin/true"};
  c.process.executable = "/bin/true";
  c.process.cwd = "/";
  c.process.ready = ready;
  c.process.shutdown_ms = 1000;
  return c;
}

inline ChildSpec pool(std::string name, int64_t count, RestartType restart = RestartType::kPermanent) {
  ChildSpec c = worker(std::move(name), restart);
  c.type = ChildType::kPool;
  c.count = count;
  c.max_children = 8;
  c.flags.intensity = 1;
  c.flags.period_s = 5;
  return c;
}

inline ChildSpec supervisor(std::string name, Strategy strategy, int64_t intensity,
                            std::vector<ChildSpec> children) {
  ChildSpec c;
  c.name = std::move(name);
  c.type = ChildType::kSupervisor;
  c.flags.strategy = strategy;
  c.flags.intensity = intensity;
  c.flags.period_s = 5;
  c.children = std::move(children);
  return c;
}

}  // namespace pl::supervisor::testing
