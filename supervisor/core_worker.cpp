// The core's handling of one worker process: spawn, readiness, watchdog, stop, exit.
#include <csignal>

#include "common/byte_size.h"
#include "supervisor/supervisor_core.h"

namespace pl::supervisor {
namespace {

std::string describe_exit(const ProcessExited& e) {
  if (e.signal != 0) return "killed by signal " + std::to_string(e.signal);
  return "exit status " + std::to_string(e.exit_status);
}

std::string ready_timeout_text(const Child& c) {
  return "no READY=1 within " + std::to_string(c.process().ready_timeout_ms) + " ms" +
         (c.ready_extended ? " nor within the time it asked for (EXTEND_TIMEOUT_USEC)" : "");
}

}  // namespace

void SupervisorCore::start_worker(Child& c) {
  c.state = ChildState::kStarting;
  c.spawning = true;
  c.stop_requested = false;
  c.fail_start_on_exit = false;
  c.watchdog_fired = false;
  c.ready_deadline.reset();
  c.watchdog_deadline.reset();
  c.kill_deadline.reset();
  c.memory_deadline.reset();
  c.memory_killed = false;
  c.memory_in_cgroup = false;
  c.measure_failures = 0;
  c.status_text.clear();
  // The aliasing constructor shares ownership of the whole spec.
  emit(SpawnProcess{c.id, c.name, std::shared_ptr<const ProcessSpec>(c.spec, &c.spec->process)});
}

void SupervisorCore::stop_worker(Child& c) {
  switch (c.state) {
    case ChildState::kStopped:
      post(Notice::Kind::kStopped, c.id);
      return;
    case ChildState::kStopping:
      // Already stopping. The one case with work left: the stop came while the spawn was under
      // way, and the process has just been spawned (no signal sent yet).
      if (c.spawning || c.pid == 0 || c.kill_deadline) return;
      break;
    case ChildState::kStarting:
    case ChildState::kRunning:
      c.state = ChildState::kStopping;
      c.stop_requested = true;
      c.ready_deadline.reset();
      c.watchdog_deadline.reset();
      c.memory_deadline.reset();
      if (c.spawning) return;  // ProcessSpawned will come back here
      break;
  }
  if (c.process().brutal_kill) {
    emit(SignalProcess{c.pid, SIGKILL, true});
  } else {
    emit(SignalProcess{c.pid, SIGTERM, true});
    c.kill_deadline = now_ + milliseconds(c.process().shutdown_ms);
  }
}

void SupervisorCore::worker_ready(Child& c) {
  c.state = ChildState::kRunning;
  c.ready_deadline.reset();
  if (c.process().ready == ReadyMode::kNotify) publish(event_kind::kReady, c);
  if (c.process().watchdog_ms > 0) c.watchdog_deadline = now_ + milliseconds(c.process().watchdog_ms);
  post(Notice::Kind::kStarted, c.id);
}

void SupervisorCore::worker_exited(Child& c, const ProcessExited& e) {
  const ChildState was = c.state;
  const bool watchdog = c.watchdog_fired;
  const bool memory = c.memory_killed;
  c.pid = 0;
  c.state = ChildState::kStopped;
  c.last_exit = LastExit{e.exit_status, e.signal, e.time_ms};
  c.ready_deadline.reset();
  c.watchdog_deadline.reset();
  c.kill_deadline.reset();
  c.memory_deadline.reset();
  c.watchdog_fired = false;
  c.memory_killed = false;
  c.status_text.clear();  // it described the process that is gone ("endpoint=..." of a stopped one)

  // Published first, before any decision: the broker learns of a dead worker at once.
  PublishEvent exited;
  exited.kind = event_kind::kExited;
  exited.child = c.name;
  exited.pid = e.pid;
  exited.exit_status = e.exit_status;
  exited.signal = e.signal;
  exited.detail =
      describe_exit(e) + (watchdog ? " (watchdog)" : "") + (memory ? " (max_memory)" : "");
  emit(std::move(exited));

  if (c.stop_requested) {
    c.stop_requested = false;
    publish(event_kind::kStopped, c, describe_exit(e), e.pid);
    post(Notice::Kind::kStopped, c.id);
    return;
  }
  if (was == ChildState::kStarting) {
    const std::string why =
        c.fail_start_on_exit
            ? ready_timeout_text(c)
            : "exited before it was ready (" + describe_exit(e) + ")";
    c.fail_start_on_exit = false;
    post(Notice::Kind::kStartFailed, c.id, true, why);
    return;
  }
  const bool abnormal = e.signal != 0 || e.exit_status != 0;
  post(Notice::Kind::kTerminated, c.id, abnormal,
       c.name + " " + describe_exit(e) + (watchdog ? " after a missed watchdog" : "") +
           (memory ? " after exceeding max_memory" : ""));
}

void SupervisorCore::fire_worker_timers(Child& c) {
  if (c.ready_deadline && *c.ready_deadline <= now_) {
    c.ready_deadline.reset();
    c.fail_start_on_exit = true;
    publish(event_kind::kReadyTimeout, c, ready_timeout_text(c));
    emit(SignalProcess{c.pid, SIGKILL, true});
  }
  if (c.watchdog_deadline && *c.watchdog_deadline <= now_) {
    c.watchdog_deadline.reset();
    c.watchdog_fired = true;
    publish(event_kind::kWatchdogTimeout, c,
            "no WATCHDOG=1 within " + std::to_string(c.process().watchdog_ms) + " ms");
    emit(SignalProcess{c.pid, SIGKILL, true});
  }
  if (c.memory_deadline && *c.memory_deadline <= now_) {
    c.memory_deadline = now_ + milliseconds(c.process().memory_check_ms);
    emit(MeasureMemory{c.pid});
  }
  if (c.kill_deadline && *c.kill_deadline <= now_) {
    c.kill_deadline.reset();
    publish(event_kind::kKilled, c,
            "still running " + std::to_string(c.process().shutdown_ms) + " ms after SIGTERM");
    emit(SignalProcess{c.pid, SIGKILL, true});
  }
}

void SupervisorCore::on(const MemoryMeasured& e) {
  auto it = by_pid_.find(e.pid);
  if (it == by_pid_.end()) return;
  Child* c = find(it->second);
  // A reading that comes after a stop or a kill was asked for changes nothing.
  if (c == nullptr || !c->memory_deadline || c->memory_killed) return;
  const uint64_t limit = c->process().max_memory_bytes;
  if (!e.rss_bytes) {
    if (c->measure_failures++ == 0) {
      publish(event_kind::kMeasureFailed, *c,
              "cannot read its resident set (" + e.error + "); max_memory " + format_bytes(limit) +
                  " is not enforced until a reading succeeds");
    }
    return;
  }
  c->measure_failures = 0;
  if (*e.rss_bytes <= limit) return;
  c->memory_killed = true;
  c->memory_deadline.reset();
  publish(event_kind::kMemoryExceeded, *c,
          "resident set " + format_bytes(*e.rss_bytes) + " (" + std::to_string(*e.rss_bytes) +
              " bytes) is over max_memory " + format_bytes(limit) + " (" + std::to_string(limit) +
              " bytes)");
  emit(SignalProcess{c->pid, SIGKILL, true});
}

}  // namespace pl::supervisor
