// Restart decisions: OTP's do_restart/restart/add_restart, clause by clause.
#include <algorithm>

#include "supervisor/supervisor_core.h"

namespace pl::supervisor {
namespace {

// A pool as a whole is always restarted by its parent; its `restart` is its members'.
RestartType restart_of(const Child& c) {
  return c.type == ChildType::kPool ? RestartType::kPermanent : c.spec->restart;
}

bool significant(const Child& c) {
  return c.member_index == 0 && c.type != ChildType::kPool && c.spec->significant;
}

std::string window_text(const Node& node) {
  return "more than " + std::to_string(node.flags.intensity) + " restart" +
         (node.flags.intensity == 1 ? "" : "s") + " in " + std::to_string(node.flags.period_s) +
         " s";
}

}  // namespace

bool SupervisorCore::alive_in_view(const Node& node, const Child& c) const {
  if (c.state != ChildState::kStopped || c.restart_queued || c.spawning) return true;
  // An exit the node has not handled yet: to OTP the child is still there.
  return std::any_of(node.pending.begin(), node.pending.end(), [&](const Pending& p) {
    return p.kind == Pending::Kind::kTerminated && p.child == c.id;
  });
}

void SupervisorCore::decide(Node& node, Child& c, bool abnormal, const std::string& reason) {
  if (!should_restart(restart_of(c), abnormal)) {
    if (node.pool) {
      remove_child(node, c.id);
      node.target_count = std::max<int64_t>(0, node.target_count - 1);
      return;
    }
    check_auto_shutdown(node, c);
    return;
  }
  restart_after_failure(node, {c.id}, reason);
}

void SupervisorCore::restart_after_failure(Node& node, std::vector<ChildId> failed,
                                           const std::string& reason) {
  for (size_t i = 0; i < failed.size(); ++i) {
    if (!node.window.add(now_)) {
      give_up(node, reason + "; " + window_text(node));
      return;
    }
  }
  plan_restart(node, failed, reason);
}

void SupervisorCore::plan_restart(Node& node, const std::vector<ChildId>& failed,
                                  const std::string& reason) {
  std::vector<Child*> stop;     // to stop first, in start order (stopped in reverse)
  std::vector<Child*> restart;  // to start again, in start order
  auto is_failed = [&](const Child& c) {
    return std::find(failed.begin(), failed.end(), c.id) != failed.end();
  };
  size_t first = node.children.size();
  for (size_t i = 0; i < node.children.size(); ++i) {
    if (is_failed(*node.children[i])) {
      first = i;
      break;
    }
  }
  if (first == node.children.size()) return;  // the failed children are gone

  const Strategy strategy = node.pool ? Strategy::kOneForOne : node.flags.strategy;
  for (size_t i = 0; i < node.children.size(); ++i) {
    Child& c = *node.children[i];
    const bool failed_here = is_failed(c);
    bool affected = failed_here;
    if (!failed_here) {
      switch (strategy) {
        case Strategy::kOneForOne: affected = false; break;
        case Strategy::kOneForAll: affected = alive_in_view(node, c); break;
        case Strategy::kRestForOne: affected = i > first && alive_in_view(node, c); break;
      }
    }
    if (!affected) continue;
    if (!failed_here) stop.push_back(&c);
    // Temporary children stopped by a sibling's restart are not restarted.
    if (failed_here || restart_of(c) != RestartType::kTemporary) restart.push_back(&c);
  }

  // What the plan now handles is no longer pending.
  std::erase_if(node.pending, [&](const Pending& p) {
    if (p.kind != Pending::Kind::kTerminated) return false;
    return std::any_of(stop.begin(), stop.end(), [&](Child* c) { return c->id == p.child; });
  });

  if (strategy == Strategy::kOneForOne) {
    // Each child waits out its own backoff delay on a timer: the node is not busy meanwhile,
    // so its other children's exits and the operator's requests do not wait for it.
    std::vector<ChildId> now;
    for (Child* c : restart) {
      c->restart_queued = true;
      const Duration delay = c->backoff.next_delay(c->process().backoff, c->started_at, now_,
                                                   random_ ? random_() : 0.0);
      const int64_t delay_ms = std::chrono::duration_cast<milliseconds>(delay).count();
      if (delay > Duration::zero()) {
        c->restart_at = now_ + delay;
        publish(event_kind::kRestarting, *c, reason + " (in " + std::to_string(delay_ms) + " ms)",
                0);
      } else {
        publish(event_kind::kRestarting, *c, reason, 0);
        now.push_back(c->id);
      }
    }
    if (now.empty()) return;
    Plan p;
    p.goal = PlanGoal::kRestart;
    p.reason = reason;
    append_starts(p.steps, node.pool, now);
    node.plan = std::move(p);
    run_plan(node);
    return;
  }

  Plan p;
  p.goal = PlanGoal::kRestart;
  p.reason = reason;
  for (auto it = stop.rbegin(); it != stop.rend(); ++it) {
    p.steps.push_back({PlanStep::Kind::kStop, {(*it)->id}, {}});
  }
  Duration delay = Duration::zero();
  for (Child* c : restart) {
    c->restart_queued = true;
    if (is_failed(*c)) {
      delay = std::max(delay, c->backoff.next_delay(c->process().backoff, c->started_at, now_,
                                                    random_ ? random_() : 0.0));
    }
  }
  const int64_t delay_ms = std::chrono::duration_cast<milliseconds>(delay).count();
  for (Child* c : restart) {
    std::string detail = is_failed(*c) ? reason : "restarted with " + std::string(to_string(strategy)) + ": " + reason;
    if (delay_ms > 0) detail += " (in " + std::to_string(delay_ms) + " ms)";
    publish(event_kind::kRestarting, *c, std::move(detail), 0);
  }
  if (delay > Duration::zero()) p.steps.push_back({PlanStep::Kind::kWait, {}, now_ + delay});
  std::vector<ChildId> ids;
  for (Child* c : restart) ids.push_back(c->id);
  append_starts(p.steps, node.pool, ids);
  node.plan = std::move(p);
  run_plan(node);
}

void SupervisorCore::give_up(Node& node, const std::string& reason) {
  Child& self = *node.self;
  publish(self.parent != nullptr ? event_kind::kEscalated : event_kind::kGaveUp, self, reason);
  if (&self == root_.get()) tell_manager("STOPPING=1");
  abort_plan(node, self.name + " gave up");
  fail_pending(node, self.name + " gave up");
  self.state = ChildState::kStopping;
  for (auto& k : node.children) k->restart_queued = false;
  Plan p;
  p.goal = PlanGoal::kGiveUp;
  p.reason = self.name + " gave up: " + reason;
  p.steps = stop_all_steps(node);
  node.plan = std::move(p);
  run_plan(node);
}

void SupervisorCore::check_auto_shutdown(Node& node, Child& ended) {
  if (!significant(ended)) return;
  switch (node.flags.auto_shutdown) {
    case AutoShutdown::kNever:
      return;
    case AutoShutdown::kAnySignificant:
      break;
    case AutoShutdown::kAllSignificant:
      for (auto& c : node.children) {
        if (significant(*c) && alive_in_view(node, *c)) return;
      }
      break;
  }
  Child& self = *node.self;
  const std::string reason = "auto_shutdown: significant child " + ended.name + " ended";
  publish(event_kind::kAutoShutdown, self, reason);
  if (&self == root_.get()) tell_manager("STOPPING=1");  // the whole tree stops: say so, as on SIGTERM
  self.state = ChildState::kStopping;
  fail_pending(node, reason);
  for (auto& k : node.children) k->restart_queued = false;
  Plan p;
  p.goal = PlanGoal::kAutoShutdown;
  p.reason = reason;
  p.steps = stop_all_steps(node);
  node.plan = std::move(p);
  run_plan(node);
}

}  // namespace pl::supervisor
