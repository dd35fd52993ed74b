// Supervisors and pools as the core runs them: starting and stopping nodes, running plans step
// by step, and routing what children report to the node that supervises them.
#include <algorithm>

#include "supervisor/supervisor_core.h"

namespace pl::supervisor {
namespace {

bool plan_stops_later(const Plan& p, ChildId id) {
  for (const PlanStep& s : p.steps) {
    if (s.kind != PlanStep::Kind::kStop) continue;
    if (std::find(s.targets.begin(), s.targets.end(), id) != s.targets.end()) return true;
  }
  return false;
}

}  // namespace

void SupervisorCore::start_child(Child& c) {
  c.restart_at.reset();
  if (c.restart_queued) {
    c.restart_queued = false;
    ++c.restarts;
  }
  if (c.type == ChildType::kWorker) {
    start_worker(c);
  } else {
    start_node(c);
  }
}

void SupervisorCore::stop_child(Child& c) {
  if (c.type == ChildType::kWorker) {
    stop_worker(c);
  } else {
    stop_node(c);
  }
}

std::deque<PlanStep> SupervisorCore::stop_all_steps(Node& node) {
  std::deque<PlanStep> steps;
  auto needs_stop = [](const Child& c) { return c.state != ChildState::kStopped || c.spawning; };
  if (node.pool) {
    PlanStep all{PlanStep::Kind::kStop, {}, {}};
    for (auto& c : node.children) {
      if (needs_stop(*c)) all.targets.push_back(c->id);
    }
    for (auto& c : node.retiring) all.targets.push_back(c->id);
    if (!all.targets.empty()) steps.push_back(std::move(all));
    return steps;
  }
  for (auto& c : node.retiring) steps.push_back({PlanStep::Kind::kStop, {c->id}, {}});
  for (auto it = node.children.rbegin(); it != node.children.rend(); ++it) {
    if (needs_stop(**it)) steps.push_back({PlanStep::Kind::kStop, {(*it)->id}, {}});
  }
  return steps;
}

void SupervisorCore::start_node(Child& c) {
  Node& n = *c.node;
  c.state = ChildState::kStarting;
  c.started_at = now_;
  n.window.reset();
  n.stop_reason.clear();
  Plan p;
  p.goal = PlanGoal::kStartNode;
  if (n.pool) {
    // A pool starts fresh: target_count new members, started in parallel.
    while (!n.children.empty()) remove_child(n, n.children.back()->id);
    PlanStep all{PlanStep::Kind::kStart, {}, {}};
    for (int64_t i = 0; i < n.target_count; ++i) all.targets.push_back(add_pool_member(n)->id);
    p.steps.push_back(std::move(all));
  } else {
    for (auto& k : n.children) p.steps.push_back({PlanStep::Kind::kStart, {k->id}, {}});
  }
  n.plan = std::move(p);
  run_plan(n);
}

void SupervisorCore::stop_node(Child& c) {
  Node& n = *c.node;
  if (c.state == ChildState::kStopped) {
    c.restart_queued = false;
    post(Notice::Kind::kStopped, c.id);
    return;
  }
  if (n.plan) {
    switch (n.plan->goal) {
      case PlanGoal::kStopNode:
        return;  // already stopping for its parent
      case PlanGoal::kGiveUp:
      case PlanGoal::kAutoShutdown:
      case PlanGoal::kUndoFailedStart:
        n.plan->goal = PlanGoal::kStopNode;  // already stopping: report a stop when done
        return;
      default:
        abort_plan(n, c.name + " is stopping");
    }
  }
  fail_pending(n, c.name + " is stopping");
  c.state = ChildState::kStopping;
  for (auto& k : n.children) k->restart_queued = false;
  Plan p;
  p.goal = PlanGoal::kStopNode;
  p.steps = stop_all_steps(n);
  n.plan = std::move(p);
  run_plan(n);
}

void SupervisorCore::run_plan(Node& node) {
  while (node.plan) {
    Plan& p = *node.plan;
    if (!p.waiting.empty() || p.wait_until) return;
    if (!p.failures.empty()) {
      handle_step_failures(node);
      return;
    }
    if (p.steps.empty()) {
      finish_plan(node);
      return;
    }
    PlanStep step = std::move(p.steps.front());
    p.steps.pop_front();
    p.current = step.kind;
    switch (step.kind) {
      case PlanStep::Kind::kWait:
        if (step.until > now_) p.wait_until = step.until;
        break;
      case PlanStep::Kind::kStart:
        for (ChildId id : step.targets) {
          Child* c = node.child_by_id(id);
          if (c == nullptr || c->state != ChildState::kStopped) continue;
          p.waiting.insert(id);
          start_child(*c);
        }
        break;
      case PlanStep::Kind::kStop:
        for (ChildId id : step.targets) {
          Child* c = node.child_by_id(id);
          if (c == nullptr) continue;
          p.waiting.insert(id);
          stop_child(*c);
        }
        break;
    }
  }
}

void SupervisorCore::finish_plan(Node& node) {
  Plan p = std::move(*node.plan);
  node.plan.reset();
  for (ChildId id : p.remove_after) remove_child(node, id);
  Child& self = *node.self;
  switch (p.goal) {
    case PlanGoal::kStartNode:
      self.state = ChildState::kRunning;
      if (self.parent != nullptr) publish(event_kind::kStarted, self);
      post(Notice::Kind::kStarted, self.id);
      break;
    case PlanGoal::kUndoFailedStart:
      self.state = ChildState::kStopped;
      post(Notice::Kind::kStartFailed, self.id, true, p.reason);
      break;
    case PlanGoal::kStopNode:
      self.state = ChildState::kStopped;
      publish(event_kind::kStopped, self, node.stop_reason);
      post(Notice::Kind::kStopped, self.id);
      break;
    case PlanGoal::kGiveUp:
      self.state = ChildState::kStopped;
      post(Notice::Kind::kTerminated, self.id, true, p.reason);
      break;
    case PlanGoal::kAutoShutdown:
      self.state = ChildState::kStopped;
      publish(event_kind::kStopped, self, p.reason);
      post(Notice::Kind::kTerminated, self.id, false, p.reason);
      break;
    case PlanGoal::kRestart:
      break;
    case PlanGoal::kAdmin:
      operation_done(p.operation);
      break;
  }
  pump(node);
}

void SupervisorCore::handle_step_failures(Node& node) {
  Plan& p = *node.plan;
  auto failures = std::move(p.failures);
  p.failures.clear();
  const std::string first = [&] {
    Child* c = node.child_by_id(failures.front().first);
    return (c ? c->name : std::string("a child")) + " failed to start: " + failures.front().second;
  }();
  switch (p.goal) {
    case PlanGoal::kStartNode: {
      // OTP: a child that fails to start during init stops those started and fails the start.
      Plan undo;
      undo.goal = PlanGoal::kUndoFailedStart;
      undo.reason = first;
      for (auto& k : node.children) k->restart_queued = false;
      undo.steps = stop_all_steps(node);
      node.plan = std::move(undo);
      run_plan(node);
      return;
    }
    case PlanGoal::kRestart: {
      std::vector<ChildId> failed;
      for (const auto& f : failures) failed.push_back(f.first);
      node.plan.reset();
      restart_after_failure(node, failed, first);
      return;
    }
    case PlanGoal::kAdmin: {
      for (const auto& [id, why] : failures) {
        Child* c = node.child_by_id(id);
        operation_error(p.operation, (c ? c->name : std::string("a child")) +
                                         " failed to start: " + why);
        if (std::find(p.remove_if_failed.begin(), p.remove_if_failed.end(), id) !=
            p.remove_if_failed.end()) {
          p.remove_after.push_back(id);
          if (node.pool) node.target_count = std::max<int64_t>(0, node.target_count - 1);
        }
      }
      run_plan(node);
      return;
    }
    default:
      run_plan(node);
      return;
  }
}

void SupervisorCore::abort_plan(Node& node, const std::string& why) {
  if (!node.plan) return;
  if (node.plan->goal == PlanGoal::kAdmin && node.plan->operation != 0) {
    operation_error(node.plan->operation, "interrupted: " + why, ErrorCode::kCancelled);
    operation_done(node.plan->operation);
  }
  node.plan.reset();
}

void SupervisorCore::fail_pending(Node& node, const std::string& why) {
  for (const Pending& item : node.pending) {
    if (item.operation == 0) continue;
    operation_error(item.operation, "not done: " + why, ErrorCode::kCancelled);
    operation_done(item.operation);
  }
  node.pending.clear();
}

void SupervisorCore::pump(Node& node) {
  while (!node.plan && !node.pending.empty()) {
    Pending item = std::move(node.pending.front());
    node.pending.pop_front();
    const bool running = node.self->state == ChildState::kRunning;
    switch (item.kind) {
      case Pending::Kind::kTerminated: {
        Child* c = node.child_by_id(item.child);
        if (!running || c == nullptr || c->state != ChildState::kStopped || c->restart_queued) {
          break;  // handled meanwhile (a group restart, a stop)
        }
        decide(node, *c, item.abnormal, item.reason);
        break;
      }
      case Pending::Kind::kAdmin:
        if (running) {
          run_admin(node, item);
        } else {
          operation_error(item.operation, node.self->name + " is not running", ErrorCode::kConflict);
          operation_done(item.operation);
        }
        break;
      case Pending::Kind::kScale:
        run_scale(node, item);
        break;
      case Pending::Kind::kApplySpec:
        run_apply_spec(node, item);
        break;
    }
  }
  start_due_restarts(node);
}

void SupervisorCore::start_due_restarts(Node& node) {
  if (node.plan || node.self->state != ChildState::kRunning) return;
  std::vector<ChildId> due;
  for (auto& k : node.children) {
    if (k->restart_queued && k->restart_at && *k->restart_at <= now_) due.push_back(k->id);
  }
  if (due.empty()) return;
  Plan p;
  p.goal = PlanGoal::kRestart;
  p.reason = "restart delay over";
  append_starts(p.steps, node.pool, due);
  node.plan = std::move(p);
  run_plan(node);
}

void SupervisorCore::deliver(const Notice& n) {
  Child* c = find(n.child);
  if (c == nullptr) return;
  if (c->parent == nullptr) {
    root_notice(n);
    return;
  }
  Node& node = *c->parent;
  switch (n.kind) {
    case Notice::Kind::kStarted:
      child_started(node, *c);
      break;
    case Notice::Kind::kStartFailed:
      child_start_failed(node, *c, n.reason);
      break;
    case Notice::Kind::kStopped:
      child_stopped(node, *c);
      break;
    case Notice::Kind::kTerminated:
      child_terminated(node, *c, n.abnormal, n.reason);
      break;
  }
}

void SupervisorCore::child_started(Node& node, Child& c) {
  if (node.plan && node.plan->waiting.erase(c.id) > 0) run_plan(node);
}

void SupervisorCore::child_start_failed(Node& node, Child& c, const std::string& reason) {
  if (node.plan && node.plan->waiting.erase(c.id) > 0) {
    node.plan->failures.emplace_back(c.id, reason);
    // A failed start of the node itself is final: stop the siblings still starting now rather
    // than wait for their READY=1 (or its timeout).
    if (node.plan->goal == PlanGoal::kStartNode) node.plan->waiting.clear();
    run_plan(node);
  }
}

void SupervisorCore::child_stopped(Node& node, Child& c) {
  if (node.plan && node.plan->waiting.erase(c.id) > 0) run_plan(node);
}

void SupervisorCore::child_terminated(Node& node, Child& c, bool abnormal,
                                      const std::string& reason) {
  if (node.plan) {
    if (node.plan->current == PlanStep::Kind::kStop && node.plan->waiting.erase(c.id) > 0) {
      run_plan(node);
      return;
    }
    if (plan_stops_later(*node.plan, c.id)) return;  // down already; the plan stops it anyway
    Pending item;
    item.kind = Pending::Kind::kTerminated;
    item.child = c.id;
    item.abnormal = abnormal;
    item.reason = reason;
    node.pending.push_back(std::move(item));
    return;
  }
  if (node.self->state != ChildState::kRunning) return;
  decide(node, c, abnormal, reason);
}

void SupervisorCore::root_notice(const Notice& n) {
  Child& root = *root_;
  auto finish = [&](int code, std::string reason) {
    if (exit_code_) return;
    exit_code_ = code;
    emit(ExitProcess{code, std::move(reason)});
  };
  switch (n.kind) {
    case Notice::Kind::kStarted:
      publish(event_kind::kStarted, root, "all children started");
      tell_manager("READY=1\nSTATUS=running");
      break;
    case Notice::Kind::kStartFailed:
      publish(event_kind::kGaveUp, root, n.reason);
      finish(1, n.reason);
      break;
    case Notice::Kind::kStopped:
      finish(root_exit_code_, "shutdown");
      break;
    case Notice::Kind::kTerminated:
      finish(n.abnormal ? 1 : 0, n.reason);
      break;
  }
}

}  // namespace pl::supervisor
