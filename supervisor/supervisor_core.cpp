#include "supervisor/supervisor_core.h"

#include <csignal>

namespace pl::supervisor {

Child* Node::child_by_id(ChildId id) const {
  for (const auto& c : children) {
    if (c->id == id) return c.get();
  }
  for (const auto& c : retiring) {
    if (c->id == id) return c.get();
  }
  return nullptr;
}

SupervisorCore::SupervisorCore(ChildSpec root, std::function<double()> random)
    : random_(std::move(random)) {
  root.type = ChildType::kSupervisor;
  root_ = make_child(std::make_shared<const ChildSpec>(std::move(root)), nullptr);
}

SupervisorCore::~SupervisorCore() = default;

std::vector<CoreCommand> SupervisorCore::handle(const CoreEvent& event, TimePoint now) {
  now_ = now;
  std::visit([this](const auto& e) { on(e); }, event);
  drain();
  std::vector<CoreCommand> out;
  out.swap(out_);
  return out;
}

void SupervisorCore::drain() {
  while (!inbox_.empty()) {
    Notice n = std::move(inbox_.front());
    inbox_.pop_front();
    deliver(n);
  }
}

// ---- Tree building and lookup -----------------------------------------------------------------

std::unique_ptr<Child> SupervisorCore::make_child(std::shared_ptr<const ChildSpec> spec,
                                                  Node* parent, int member_index) {
  auto c = std::make_unique<Child>();
  c->id = next_id_++;
  c->spec = std::move(spec);
  c->parent = parent;
  c->member_index = member_index;
  c->type = member_index > 0 ? ChildType::kWorker : c->spec->type;
  if (member_index > 0) {
    c->name = parent->self->name + "." + std::to_string(member_index);
  } else if (parent == nullptr || parent->self->parent == nullptr) {
    c->name = c->spec->name;  // the root, and the root's children, go by their own names
  } else {
    c->name = parent->self->name + "." + c->spec->name;
  }
  by_id_[c->id] = c.get();
  if (c->is_node()) build_node(*c);
  return c;
}

void SupervisorCore::build_node(Child& c) {
  c.node = std::make_unique<Node>();
  Node& n = *c.node;
  n.self = &c;
  n.pool = c.type == ChildType::kPool;
  n.flags = c.spec->flags;
  if (n.pool) n.flags.strategy = Strategy::kOneForOne;
  n.window.set_limits(n.flags.intensity, std::chrono::seconds(n.flags.period_s));
  n.target_count = c.spec->count;
  if (!n.pool) {
    for (const ChildSpec& spec : c.spec->children) {
      n.children.push_back(make_child(std::make_shared<const ChildSpec>(spec), &n));
    }
  }
}

Child* SupervisorCore::add_pool_member(Node& pool) {
  int index = 1;
  for (bool taken = true; taken; ++index) {
    taken = false;
    for (const auto& m : pool.children) taken = taken || m->member_index == index;
    if (!taken) break;
  }
  pool.children.push_back(make_child(pool.self->spec, &pool, index));
  return pool.children.back().get();
}

void SupervisorCore::remove_child(Node& node, ChildId id) {
  for (auto* list : {&node.children, &node.retiring}) {
    for (auto it = list->begin(); it != list->end(); ++it) {
      if ((*it)->id != id) continue;
      std::function<void(Child&)> forget = [&](Child& c) {
        by_id_.erase(c.id);
        if (c.pid != 0) by_pid_.erase(c.pid);
        if (c.node) {
          for (auto& k : c.node->children) forget(*k);
          for (auto& k : c.node->retiring) forget(*k);
        }
      };
      forget(**it);
      list->erase(it);
      return;
    }
  }
}

Child* SupervisorCore::find(ChildId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

Child* SupervisorCore::find_by_name(const std::string& name) const {
  std::function<Child*(Child&)> search = [&](Child& c) -> Child* {
    if (c.name == name) return &c;
    if (!c.node) return nullptr;
    for (auto& k : c.node->children) {
      if (Child* found = search(*k)) return found;
    }
    return nullptr;
  };
  return search(*root_);
}

void SupervisorCore::for_each_child(const std::function<void(Child&)>& f) const {
  std::function<void(Child&)> walk = [&](Child& c) {
    f(c);
    if (!c.node) return;
    for (auto& k : c.node->children) walk(*k);
    for (auto& k : c.node->retiring) walk(*k);
  };
  walk(*root_);
}

void SupervisorCore::publish(std::string kind, const Child& c, std::string detail, int64_t pid) {
  PublishEvent e;
  e.kind = std::move(kind);
  e.child = c.name;
  e.pid = pid != 0 ? pid : c.pid;
  e.detail = std::move(detail);
  emit(std::move(e));
}

std::optional<TimePoint> SupervisorCore::next_deadline() const {
  std::optional<TimePoint> best;
  auto consider = [&](const std::optional<TimePoint>& t) {
    if (t && (!best || *t < *best)) best = t;
  };
  for_each_child([&](Child& c) {
    consider(c.ready_deadline);
    consider(c.watchdog_deadline);
    consider(c.kill_deadline);
    consider(c.memory_deadline);
    if (c.node && c.node->plan) consider(c.node->plan->wait_until);
    // A delayed restart is due when the node is free to start it (pump() starts it then).
    if (c.node && !c.node->plan && c.state == ChildState::kRunning) {
      for (auto& k : c.node->children) {
        if (k->restart_queued) consider(k->restart_at);
      }
    }
  });
  return best;
}

// ---- Events -----------------------------------------------------------------------------------

void SupervisorCore::on(const StartTree&) {
  if (root_->state != ChildState::kStopped || exit_code_) return;
  start_child(*root_);
}

void SupervisorCore::on(const ProcessSpawned& e) {
  Child* c = find(e.child);
  if (c == nullptr || !c->spawning) {
    // Nobody wants this process any more: it must not outlive the decision.
    emit(SignalProcess{e.pid, SIGKILL, true});
    return;
  }
  c->spawning = false;
  c->pid = e.pid;
  by_pid_[e.pid] = c->id;
  c->started_at = now_;
  c->memory_in_cgroup = e.memory_in_cgroup;
  publish(event_kind::kStarted, *c);
  if (c->stop_requested) {
    stop_worker(*c);  // a stop arrived while the spawn was under way
    return;
  }
  if (c->process().max_memory_bytes > 0 && !e.memory_in_cgroup) {
    c->memory_deadline = now_ + milliseconds(c->process().memory_check_ms);
  }
  if (c->process().ready == ReadyMode::kExec) {
    worker_ready(*c);
  } else if (c->process().ready_timeout_ms > 0) {
    c->ready_deadline = now_ + milliseconds(c->process().ready_timeout_ms);
    c->ready_extended = false;
  }
}

void SupervisorCore::on(const SpawnFailed& e) {
  Child* c = find(e.child);
  if (c == nullptr || !c->spawning) return;
  c->spawning = false;
  c->state = ChildState::kStopped;
  publish(event_kind::kStartFailed, *c, e.error);
  if (c->stop_requested) {
    c->stop_requested = false;
    post(Notice::Kind::kStopped, c->id);
  } else {
    post(Notice::Kind::kStartFailed, c->id, true, e.error);
  }
}

void SupervisorCore::on(const ProcessExited& e) {
  auto it = by_pid_.find(e.pid);
  if (it == by_pid_.end()) return;
  Child* c = find(it->second);
  by_pid_.erase(it);
  if (c != nullptr) worker_exited(*c, e);
}

void SupervisorCore::on(const NotifyReceived& e) {
  auto it = by_pid_.find(e.pid);
  if (it == by_pid_.end()) return;
  Child* c = find(it->second);
  if (c == nullptr) return;
  if (e.status) c->status_text = *e.status;
  if (e.extend_timeout_us && c->state == ChildState::kStarting && c->ready_deadline) {
    // Never shortened: the deadline is the later of the configured one and now + the extension
    // (at most a day, which also keeps the sum from overflowing).
    const int64_t us = std::min<int64_t>(*e.extend_timeout_us, 86'400'000'000);
    c->ready_deadline = std::max(*c->ready_deadline, now_ + std::chrono::microseconds(us));
    c->ready_extended = true;
    // The tree's own start waits for this child: ask our manager (systemd's TimeoutStartSec)
    // for the same time.
    if (root_->state == ChildState::kStarting) {
      tell_manager("EXTEND_TIMEOUT_USEC=" + std::to_string(*e.extend_timeout_us));
    }
  }
  if (e.ready && c->state == ChildState::kStarting && !c->fail_start_on_exit) worker_ready(*c);
  if (c->state != ChildState::kRunning) return;
  if (e.watchdog_trigger) {
    c->watchdog_deadline = now_;
    fire_worker_timers(*c);
  } else if (e.watchdog && c->process().watchdog_ms > 0 && !c->watchdog_fired) {
    c->watchdog_deadline = now_ + milliseconds(c->process().watchdog_ms);
  }
}

void SupervisorCore::on(const TimerFired&) {
  std::vector<Node*> woken;
  std::vector<Node*> free;
  for_each_child([&](Child& c) {
    if (c.type == ChildType::kWorker) fire_worker_timers(c);
    if (c.node && c.node->plan && c.node->plan->wait_until && *c.node->plan->wait_until <= now_) {
      c.node->plan->wait_until.reset();
      woken.push_back(c.node.get());
    }
    if (c.node && !c.node->plan) free.push_back(c.node.get());
  });
  for (Node* n : woken) run_plan(*n);
  for (Node* n : free) start_due_restarts(*n);
}

void SupervisorCore::on(const ShutdownRequested& e) {
  if (shutting_down_ || exit_code_) return;
  shutting_down_ = true;
  root_exit_code_ = 0;
  tell_manager("STOPPING=1");
  publish(event_kind::kStopping, *root_, e.reason.empty() ? "shutdown requested" : e.reason);
  stop_child(*root_);
}

}  // namespace pl::supervisor
