// The supervisor's pure core: OTP's supervisor rules for OS processes, as a state machine.
//
//   commands = core.handle(event, now)
//
// No system calls, no clock reads, no randomness of its own: the shell passes the time, runs
// the commands and feeds back what happened (a spawn's pid, an exit, READY=1). Tests drive it
// with a fake clock and fake pids.
//
// Rules (supervisor.erl, rule by rule):
// - Start: children start one at a time in order; each counts as started at exec (ready: exec)
//   or at READY=1 (ready: notify, within ready_timeout). Pool members start in parallel. A
//   child that fails to start during a supervisor's own start stops the ones already started
//   (reverse order) and fails that supervisor's start; at the root, the process exits 1.
// - Stop: reverse order; each worker gets SIGTERM, then SIGKILL after `shutdown` ms
//   (brutal_kill: SIGKILL at once); pool members stop in parallel; nested supervisors stop
//   their own children first.
// - An exit that was not asked for: permanent children are restarted, transient ones only
//   after an abnormal exit (non-zero status or a signal), temporary ones never. Each restart is
//   counted in the supervisor's sliding window; more than `intensity` within `period` and the
//   supervisor stops all its children and fails: its parent counts that as an abnormal exit of
//   a child (escalation); the root exits 1.
// - Strategies: one_for_one restarts the child; one_for_all stops all other children and
//   restarts all; rest_for_one stops and restarts the children after it. Temporary children
//   stopped that way are not restarted. Children stopped by an operator stay stopped.
// - A restart that fails to start is tried again, counted again (OTP's try_again_restart): an
//   endlessly failing child ends in escalation, never in a hang.
// - Significant children (transient or temporary) and auto_shutdown: when any (or all)
//   significant children have ended on their own, the supervisor stops and ends normally.
// - Backoff delays a restart but does not change how it is counted.
// - Ready timeout: no READY=1 in time kills the process (SIGKILL to its group) and counts as a
//   failed start. Watchdog: no WATCHDOG=1 in time kills it; the exit is then handled as any.
// - max_memory: a process whose memory the kernel does not bound (no cgroup) is measured every
//   memory_check ms (MeasureMemory); over the bound, it is killed (SIGKILL to its group, event
//   memory_exceeded with the reading) and its exit handled as any abnormal exit. A reading that
//   fails is an event (measure_failed, once per run of failures), never taken for a zero.
// - While a supervisor is busy (starting, stopping, restarting a group, an operator request),
//   other exits and requests wait their turn, as in OTP's mailbox. Every exit is published at
//   once all the same.
//
// Thread safety: none; one thread drives it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/protocol/control.h"
#include "common/value.h"
#include "supervisor/core_io.h"
#include "supervisor/core_tree.h"

namespace pl::supervisor {

namespace event_kind = protocol::event_kind;

class SupervisorCore {
 public:
  // `random` returns draws in [0, 1) for backoff jitter (tests pass a constant).
  SupervisorCore(ChildSpec root, std::function<double()> random);
  ~SupervisorCore();
  SupervisorCore(const SupervisorCore&) = delete;
  SupervisorCore& operator=(const SupervisorCore&) = delete;

  // Handles one event at `now` and returns the commands to run, in order. A SpawnProcess is
  // answered later by a ProcessSpawned or SpawnFailed event, never within this call.
  // REQUIRES: `now` is monotonic (never less than at the previous call).
  std::vector<CoreCommand> handle(const CoreEvent& event, TimePoint now);

  // The earliest time at which a TimerFired would do something; nullopt when nothing is
  // timed (an idle tree): the shell then sleeps until something happens.
  std::optional<TimePoint> next_deadline() const;

  // The tree for `status`: {name, state, uptime_ms, children: [...]}. See docs/control-api.md.
  Value status(TimePoint now) const;

  // Whether `pid` is a process of ours (a child's main process).
  bool owns_pid(int64_t pid) const { return by_pid_.count(pid) != 0; }

  bool finished() const { return exit_code_.has_value(); }
  int exit_code() const { return exit_code_.value_or(0); }

 private:
  struct Notice {
    enum class Kind { kStarted, kStartFailed, kStopped, kTerminated };
    Kind kind;
    ChildId child;
    bool abnormal = false;
    std::string reason;
  };

  // Event handlers (supervisor_core.cpp; operator requests in core_admin.cpp).
  void on(const StartTree&);
  void on(const ProcessSpawned& e);
  void on(const SpawnFailed& e);
  void on(const ProcessExited& e);
  void on(const NotifyReceived& e);
  void on(const TimerFired&);
  void on(const ShutdownRequested& e);
  void on(const AdminRequested& e);
  void on(const ReloadRequested& e);
  void on(const MemoryMeasured& e);

  // Tree building and lookup (supervisor_core.cpp).
  std::unique_ptr<Child> make_child(std::shared_ptr<const ChildSpec> spec, Node* parent,
                                    int member_index = 0);
  void build_node(Child& c);
  Child* add_pool_member(Node& pool);
  void remove_child(Node& node, ChildId id);
  Child* find(ChildId id) const;
  Child* find_by_name(const std::string& name) const;

  // Workers (core_worker.cpp).
  void start_worker(Child& c);
  void stop_worker(Child& c);
  void worker_ready(Child& c);
  void worker_exited(Child& c, const ProcessExited& e);
  void fire_worker_timers(Child& c);

  // Nodes and plans (core_plans.cpp).
  void start_child(Child& c);
  void stop_child(Child& c);
  void start_node(Child& c);
  void stop_node(Child& c);
  void run_plan(Node& node);
  void finish_plan(Node& node);
  void handle_step_failures(Node& node);
  void abort_plan(Node& node, const std::string& why);
  void fail_pending(Node& node, const std::string& why);
  void pump(Node& node);
  // Starts the children whose delayed restart (restart_at) is due, when the node is free.
  void start_due_restarts(Node& node);
  void deliver(const Notice& n);
  void child_started(Node& node, Child& c);
  void child_start_failed(Node& node, Child& c, const std::string& reason);
  void child_stopped(Node& node, Child& c);
  void child_terminated(Node& node, Child& c, bool abnormal, const std::string& reason);
  void root_notice(const Notice& n);
  // Steps that stop every child still up: reverse order, or all at once in a pool.
  // REQUIRES: the caller has cleared restart_queued on the node's children.
  std::deque<PlanStep> stop_all_steps(Node& node);

  // Restart decisions (core_restart.cpp).
  void decide(Node& node, Child& c, bool abnormal, const std::string& reason);
  void restart_after_failure(Node& node, std::vector<ChildId> failed, const std::string& reason);
  void plan_restart(Node& node, const std::vector<ChildId>& failed, const std::string& reason);
  void give_up(Node& node, const std::string& reason);
  void check_auto_shutdown(Node& node, Child& ended);
  bool alive_in_view(const Node& node, const Child& c) const;

  // Operator requests and reload (core_admin.cpp).
  void run_admin(Node& node, const Pending& item);
  void run_scale(Node& node, const Pending& item);
  void run_apply_spec(Node& node, const Pending& item);
  uint64_t new_operation(uint64_t token, std::string what);
  void operation_done(uint64_t id);
  void operation_error(uint64_t id, std::string error, ErrorCode code = ErrorCode::kStepFailed);
  void reply_error(uint64_t token, ErrorCode code, std::string message);

  // Status (core_status.cpp).
  Value child_status(const Child& c, TimePoint now) const;
  static std::string_view state_name(const Child& c);

  // Output helpers.
  void post(Notice::Kind kind, ChildId id, bool abnormal = false, std::string reason = {}) {
    inbox_.push_back(Notice{kind, id, abnormal, std::move(reason)});
  }
  void emit(CoreCommand c) { out_.push_back(std::move(c)); }
  void tell_manager(std::string_view state) { out_.emplace_back(std::in_place_type<NotifyManager>, NotifyManager{std::string(state)}); }
  void publish(std::string kind, const Child& c, std::string detail = {}, int64_t pid = 0);
  void drain();
  void for_each_child(const std::function<void(Child&)>& f) const;

  std::unique_ptr<Child> root_;
  std::function<double()> random_;
  TimePoint now_{};
  std::vector<CoreCommand> out_;
  std::deque<Notice> inbox_;
  std::unordered_map<ChildId, Child*> by_id_;
  std::unordered_map<int64_t, ChildId> by_pid_;
  std::map<uint64_t, Operation> operations_;
  ChildId next_id_ = 1;
  uint64_t next_operation_ = 1;
  bool shutting_down_ = false;
  std::optional<int> exit_code_;
  int root_exit_code_ = 0;
};

}  // namespace pl::supervisor
