// Operator requests (start, stop, restart, scale) and reload, as plans of the node concerned.
// Each answers once done, with one SendReply per request.
#include <algorithm>
#include <map>

#include "common/text.h"
#include "supervisor/supervisor_core.h"

namespace pl::supervisor {

uint64_t SupervisorCore::new_operation(uint64_t token, std::string what) {
  const uint64_t id = next_operation_++;
  Operation op;
  op.token = token;
  op.what = std::move(what);
  op.outstanding = 1;
  op.result = Value::object();
  operations_[id] = std::move(op);
  return id;
}

void SupervisorCore::operation_error(uint64_t id, std::string error, ErrorCode code) {
  auto it = operations_.find(id);
  if (it == operations_.end()) return;
  if (it->second.errors.empty()) it->second.error_code = code;
  it->second.errors.push_back(std::move(error));
}

void SupervisorCore::operation_done(uint64_t id) {
  auto it = operations_.find(id);
  if (it == operations_.end()) return;
  Operation& op = it->second;
  if (--op.outstanding > 0) return;
  SendReply reply;
  reply.token = op.token;
  reply.ok = op.errors.empty();
  if (reply.ok) {
    reply.result = std::move(op.result);
  } else {
    reply.code = op.error_code;
    reply.message = join(op.errors, "; ");
  }
  emit(std::move(reply));
  operations_.erase(it);
}

void SupervisorCore::reply_error(uint64_t token, ErrorCode code, std::string message) {
  SendReply reply;
  reply.token = token;
  reply.ok = false;
  reply.code = code;
  reply.message = std::move(message);
  emit(std::move(reply));
}

void SupervisorCore::on(const AdminRequested& e) {
  if (shutting_down_ || exit_code_) {
    reply_error(e.token, ErrorCode::kConflict, "the tree is shutting down");
    return;
  }
  Child* c = find_by_name(e.name);
  if (c == nullptr) {
    reply_error(e.token, ErrorCode::kNotFound, "no child named \"" + e.name + "\"");
    return;
  }
  Pending item;
  item.child = c->id;
  item.verb = e.verb;
  item.count = e.count;
  if (e.verb == AdminVerb::kScale) {
    if (c->type != ChildType::kPool) {
      reply_error(e.token, ErrorCode::kInvalidInput, c->name + " is not a pool");
      return;
    }
    if (e.count < 0 || e.count > c->spec->max_children) {
      reply_error(e.token, ErrorCode::kInvalidInput,
                  "a count for " + c->name + " must be 0 to " +
                      std::to_string(c->spec->max_children) + " (max_children)");
      return;
    }
    item.kind = Pending::Kind::kScale;
    item.operation = new_operation(e.token, "scale");
    c->node->pending.push_back(std::move(item));
    pump(*c->node);
    return;
  }
  if (c->parent == nullptr) {
    reply_error(e.token, ErrorCode::kInvalidInput,
                "the root supervisor cannot be started, stopped or restarted: use shutdown");
    return;
  }
  item.kind = Pending::Kind::kAdmin;
  item.operation = new_operation(e.token, "admin");
  c->parent->pending.push_back(std::move(item));
  pump(*c->parent);
}

void SupervisorCore::run_admin(Node& node, const Pending& item) {
  Child* c = node.child_by_id(item.child);
  if (c == nullptr) {
    operation_error(item.operation, "the child is gone", ErrorCode::kNotFound);
    operation_done(item.operation);
    return;
  }
  const bool up = c->state != ChildState::kStopped || c->restart_queued || c->spawning;
  operations_[item.operation].result["name"] = c->name;
  Plan p;
  p.goal = PlanGoal::kAdmin;
  p.operation = item.operation;
  switch (item.verb) {
    case AdminVerb::kStart:
      if (up) {
        operation_error(item.operation, c->name + " is already running", ErrorCode::kConflict);
        operation_done(item.operation);
        return;
      }
      p.steps.push_back({PlanStep::Kind::kStart, {c->id}, {}});
      break;
    case AdminVerb::kStop:
      if (!up) {
        operation_error(item.operation, c->name + " is not running", ErrorCode::kConflict);
        operation_done(item.operation);
        return;
      }
      c->restart_queued = false;
      p.steps.push_back({PlanStep::Kind::kStop, {c->id}, {}});
      if (node.pool) {
        // Stopping a pool member removes it, as terminate_child in a simple_one_for_one.
        p.remove_after.push_back(c->id);
        node.target_count = std::max<int64_t>(0, node.target_count - 1);
      }
      break;
    case AdminVerb::kRestart:
      c->restart_queued = false;
      if (up) p.steps.push_back({PlanStep::Kind::kStop, {c->id}, {}});
      p.steps.push_back({PlanStep::Kind::kStart, {c->id}, {}});
      break;
    case AdminVerb::kScale:
      break;
  }
  std::erase_if(node.pending, [&](const Pending& q) {
    return q.kind == Pending::Kind::kTerminated && q.child == c->id;
  });
  node.plan = std::move(p);
  run_plan(node);
}

void SupervisorCore::run_scale(Node& node, const Pending& item) {
  Operation& op = operations_[item.operation];
  op.result["pool"] = node.self->name;
  op.result["count"] = item.count;
  if (node.self->state != ChildState::kRunning) {
    node.target_count = item.count;  // applies when the pool starts
    operation_done(item.operation);
    return;
  }
  Plan p;
  p.goal = PlanGoal::kAdmin;
  p.operation = item.operation;
  const auto have = static_cast<int64_t>(node.children.size());
  if (item.count > have) {
    PlanStep start{PlanStep::Kind::kStart, {}, {}};
    for (int64_t i = have; i < item.count; ++i) {
      const ChildId id = add_pool_member(node)->id;
      start.targets.push_back(id);
      p.remove_if_failed.push_back(id);
    }
    p.steps.push_back(std::move(start));
  } else if (item.count < have) {
    std::vector<Child*> members;
    for (auto& m : node.children) members.push_back(m.get());
    std::sort(members.begin(), members.end(),
              [](Child* a, Child* b) { return a->member_index > b->member_index; });
    PlanStep stop{PlanStep::Kind::kStop, {}, {}};
    for (int64_t i = 0; i < have - item.count; ++i) {
      members[i]->restart_queued = false;
      stop.targets.push_back(members[i]->id);
      p.remove_after.push_back(members[i]->id);
    }
    p.steps.push_back(std::move(stop));
  }
  node.target_count = item.count;
  node.plan = std::move(p);
  run_plan(node);
}

void SupervisorCore::on(const ReloadRequested& e) {
  if (shutting_down_ || exit_code_) {
    reply_error(e.token, ErrorCode::kConflict, "the tree is shutting down");
    return;
  }
  const uint64_t id = new_operation(e.token, "reload");
  Value& result = operations_[id].result;
  for (const char* k : {"added", "removed", "replaced", "updated"}) result[k] = Value::array();
  Pending item;
  item.kind = Pending::Kind::kApplySpec;
  item.operation = id;
  ChildSpec root = e.root;
  root.name = root_->spec->name;  // the root keeps its name: it names the whole tree
  root.type = ChildType::kSupervisor;
  item.spec = std::make_shared<const ChildSpec>(std::move(root));
  ++operations_[id].outstanding;
  root_->node->pending.push_back(std::move(item));
  pump(*root_->node);
  operation_done(id);  // the request's own hold
}

void SupervisorCore::run_apply_spec(Node& node, const Pending& item) {
  Child& self = *node.self;
  const ChildSpec& spec = *item.spec;
  Operation& op = operations_[item.operation];
  auto note = [&](const char* list, const std::string& name) { op.result[list].push_back(name); };
  self.spec = item.spec;
  node.flags = spec.flags;
  node.window.set_limits(spec.flags.intensity, std::chrono::seconds(spec.flags.period_s));

  std::vector<std::unique_ptr<Child>> old = std::move(node.children);
  node.children.clear();
  std::map<ChildId, size_t> old_position;
  for (size_t i = 0; i < old.size(); ++i) old_position[old[i]->id] = i;
  std::vector<ChildId> to_stop;  // old children leaving, stopped in reverse of their order
  std::vector<ChildId> to_start;
  std::vector<Node*> nested;
  for (const ChildSpec& ns : spec.children) {
    auto nsp = std::make_shared<const ChildSpec>(ns);
    auto it = std::find_if(old.begin(), old.end(),
                           [&](const auto& o) { return o && o->spec->name == ns.name; });
    if (it == old.end()) {
      node.children.push_back(make_child(nsp, &node));
      to_start.push_back(node.children.back()->id);
      note("added", node.children.back()->name);
      continue;
    }
    std::unique_ptr<Child> kept = std::move(*it);
    bool replace = kept->type != ns.type;
    if (!replace && ns.type != ChildType::kSupervisor) {
      replace = kept->spec->process.launch_differs(ns.process) ||
                (ns.type == ChildType::kPool && kept->spec->restart != ns.restart);
    }
    if (replace) {
      note("replaced", kept->name);
      const bool was_up = kept->state != ChildState::kStopped || kept->restart_queued;
      node.children.push_back(make_child(nsp, &node));
      if (was_up) to_start.push_back(node.children.back()->id);  // a stopped one stays stopped
      to_stop.push_back(kept->id);
      node.retiring.push_back(std::move(kept));
      continue;
    }
    const bool same = *kept->spec == ns;
    if (ns.type == ChildType::kSupervisor) {
      Pending sub;
      sub.kind = Pending::Kind::kApplySpec;
      sub.operation = item.operation;
      sub.spec = nsp;
      ++op.outstanding;
      kept->node->pending.push_back(std::move(sub));
      nested.push_back(kept->node.get());
    } else if (!same) {
      note("updated", kept->name);
      if (ns.type == ChildType::kPool) {
        Node& pool = *kept->node;
        pool.flags.intensity = ns.flags.intensity;
        pool.flags.period_s = ns.flags.period_s;
        pool.window.set_limits(ns.flags.intensity, std::chrono::seconds(ns.flags.period_s));
        for (auto& m : pool.children) m->spec = nsp;
        if (ns.count != kept->spec->count) {
          Pending scale;
          scale.kind = Pending::Kind::kScale;
          scale.operation = item.operation;
          scale.count = ns.count;
          ++op.outstanding;
          pool.pending.push_back(std::move(scale));
          nested.push_back(&pool);
        }
      }
      kept->spec = nsp;
    }
    node.children.push_back(std::move(kept));
  }
  for (auto& o : old) {
    if (!o) continue;
    note("removed", o->name);
    to_stop.push_back(o->id);
    node.retiring.push_back(std::move(o));
  }

  Plan p;
  p.goal = PlanGoal::kAdmin;
  p.operation = item.operation;
  p.remove_after = to_stop;
  // Leaving children stop in reverse of the order they had.
  std::sort(to_stop.begin(), to_stop.end(),
            [&](ChildId a, ChildId b) { return old_position[a] > old_position[b]; });
  for (ChildId id : to_stop) p.steps.push_back({PlanStep::Kind::kStop, {id}, {}});
  if (self.state == ChildState::kRunning) {
    for (ChildId id : to_start) p.steps.push_back({PlanStep::Kind::kStart, {id}, {}});
  }
  node.plan = std::move(p);
  run_plan(node);
  for (Node* n : nested) pump(*n);
}

}  // namespace pl::supervisor
