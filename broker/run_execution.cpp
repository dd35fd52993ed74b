#include "broker/run_execution.h"

#include <spdlog/spdlog.h>

#include "broker/step_nodes.h"
#include "common/value_digest.h"

namespace pl::broker {

Node::Node(RunExecution& run, Node* parent, std::string path, std::string display)
    : run_(run),
      parent_(parent),
      id_(run.register_node(this)),
      path_(std::move(path)),
      display_(std::move(display)) {}

Node::~Node() { run_.unregister_node(id_); }

void Node::child_done(Node&, Value) {}
void Node::item_done(Value) {}
void Node::capacity_available() {}

void Node::deadline_passed() {
  Value out;
  out["success"] = false;
  out["error"] = "step \"" + display() + "\" timed out";
  out["error_code"] = std::string(error_code_name(ErrorCode::kTimeout));
  finish(std::move(out));
}

void Node::finish(Value result) {
  if (done_) return;
  done_ = true;
  run_.node_finished(*this, std::move(result));
}

RunExecution::RunExecution(std::string run_id, PipelineContext context, RunPaths paths,
                           RunSettings settings, ItemSink& sink)
    : run_id_(std::move(run_id)),
      context_(std::move(context)),
      paths_(std::move(paths)),
      settings_(settings),
      sink_(sink) {
  if (context_.base_dir.empty()) context_.base_dir = paths_.base_dir;
}

std::shared_ptr<const Value> RunExecution::item_context(PipelineContext& pipeline) const {
  if (!pipeline.item_context) {
    Value context;
    context["workspace_dir"] = paths_.workspace_dir.string();
    context["output_dir"] = paths_.output_dir.string();
    context["pipeline_dir"] = pipeline.base_dir.string();
    pipeline.item_context = std::make_shared<const Value>(std::move(context));
  }
  return pipeline.item_context;
}

RunExecution::~RunExecution() {
  root_.reset();  // leaves give their items up as they go
}

uint64_t RunExecution::register_node(Node* node) {
  // Unique in the process, not only in the run: a completion's tag (a leaf's id) can then never
  // name a node of another execution of the same run (a resumed one).
  static uint64_t next_node_id = 1;
  const uint64_t id = next_node_id++;
  nodes_[id] = node;
  return id;
}

void RunExecution::unregister_node(uint64_t id) { nodes_.erase(id); }

void RunExecution::node_finished(const Node& node, Value result) {
  completions_.emplace_back(node.id(), std::move(result));
}

bool RunExecution::replay_recorded(const Node& leaf, const std::string& item_id,
                                   uint64_t input_digest) {
  auto memo = sink_.recorded(item_id);
  if (!memo) return false;
  if (memo->is_object()) {
    auto& fields = memo->as_object();
    auto recorded = fields.find(kInputDigestKey);
    if (recorded != fields.end()) {
      if (!recorded->second.is_string() || recorded->second.as_string() != digest_text(input_digest)) {
        if (progress_.inputs_changed++ == 0) {
          spdlog::warn("run {}: the input of {} is not the one its recorded result was for (an "
                       "edited file it reads, or a changed earlier result); it runs again, as "
                       "will any other such item (progress.inputs_changed counts them)",
                       run_id_, leaf.display());
        }
        return false;
      }
      fields.erase(recorded);
    }
  }
  ++progress_.replayed;
  count_usage(*memo);
  replayed_.emplace_back(leaf.id(), std::move(*memo));
  return true;
}

void RunExecution::submit_item(const Node& leaf, WorkSpec&& spec) {
  spec.tag = leaf.id();
  ++progress_.submitted;
  sink_.submit(std::move(spec));
}

void RunExecution::abandon_item(const std::string& item_id) { sink_.abandon(item_id); }

void RunExecution::start() {
  auto frame = std::make_unique<Frame>();
  frame->context = &context_;
  root_ = std::make_unique<SequenceNode>(*this, nullptr, "", "", context_.pipeline->steps,
                                         std::move(frame));
  root_->start();
  drain();
}

void RunExecution::on_item_completed(uint64_t tag, Value result) {
  // A leaf gone meanwhile gave its item up: whatever became of the item, nobody waits for it.
  auto node = nodes_.find(tag);
  if (node == nodes_.end()) return;
  ++progress_.done;
  if (!result.get_bool("success")) ++progress_.failed;
  count_usage(result);
  node->second->item_done(std::move(result));
  drain();
}

void RunExecution::report_loop(uint64_t node_id, const std::string& step, size_t done,
                               size_t failed, size_t total) {
  // Once per finished element: the step's name is copied only when the loop first reports.
  auto [it, added] = loops_.try_emplace(node_id);
  if (added) it->second.step = step;
  it->second.done = done;
  it->second.failed = failed;
  it->second.total = total;
}

void RunExecution::loop_finished(uint64_t node_id) {
  auto it = loops_.find(node_id);
  if (it == loops_.end() || it->second.finished_at) return;
  it->second.finished_at = now_;
  finished_loops_.push_back(node_id);
  // Bounded however many loops finish (a loop inside a loop finishes once per iteration).
  while (!finished_loops_.empty() &&
         (finished_loops_.size() > kFinishedLoopsShown ||
          now_ - *loops_.at(finished_loops_.front()).finished_at > kFinishedLoopsShownFor)) {
    loops_.erase(finished_loops_.front());
    finished_loops_.pop_front();
  }
}

Value RunExecution::loop_progress() const {
  Value out = Value::array();
  for (const auto& [id, loop] : loops_) {
    if (loop.finished_at && now_ - *loop.finished_at > kFinishedLoopsShownFor) continue;
    Value entry;
    entry["step"] = loop.step;
    entry["done"] = static_cast<int64_t>(loop.done);
    entry["failed"] = static_cast<int64_t>(loop.failed);
    entry["total"] = static_cast<int64_t>(loop.total);
    if (loop.finished_at) entry["finished"] = true;
    out.push_back(std::move(entry));
  }
  return out;
}

void RunExecution::count_usage(const Value& result) {
  const Value* usage = result.find("usage");
  if (!usage || !usage->is_object()) return;
  progress_.input_tokens += usage->get_int("input_tokens");
  progress_.output_tokens += usage->get_int("output_tokens");
  if (const Value* cost = usage->find("cost_usd"); cost && cost->is_number()) {
    progress_.cost_usd += cost->as_double();
  } else {
    ++progress_.unpriced_calls;  // unknown, which is not zero: say so rather than add 0
  }
}

void RunExecution::capacity_freed() {
  auto waiting = std::exchange(waiting_for_capacity_, {});
  for (uint64_t id : waiting) {
    if (finished_) break;
    auto node = nodes_.find(id);
    if (node != nodes_.end() && !node->second->done()) node->second->capacity_available();
    drain();
  }
}

void RunExecution::on_tick(TimePoint now) {
  now_ = now;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now && !finished_) {
    const uint64_t id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto node = nodes_.find(id);
    if (node != nodes_.end() && !node->second->done()) node->second->deadline_passed();
    drain();
  }
  if (!replayed_.empty() && !finished_) drain();
}

TimePoint RunExecution::next_deadline() const {
  // Stale entries (nodes gone) may be returned; waking for one costs a harmless tick.
  if (!replayed_.empty() && !finished_) return TimePoint::min();
  return deadlines_.empty() ? TimePoint::max() : deadlines_.begin()->first;
}

Value RunProgress::usage() const {
  if (!input_tokens && !output_tokens && cost_usd <= 0) return Value();
  Value usage;
  usage["input_tokens"] = input_tokens;
  usage["output_tokens"] = output_tokens;
  usage["cost_usd"] = cost_usd;
  if (unpriced_calls > 0) usage["unpriced_calls"] = unpriced_calls;
  return usage;
}

void RunExecution::cancel() {
  completions_.clear();
  replayed_.clear();
  root_.reset();
  finished_ = true;
  result_ = Value::object();
  result_["success"] = false;
  result_["error"] = "cancelled";
  // What the calls that finished before the cancel used was paid for all the same.
  if (Value usage = progress_.usage(); !usage.is_null()) result_["usage"] = std::move(usage);
}

void RunExecution::drain() {
  if (draining_) return;  // a completion handled below may queue more; the loop takes them
  draining_ = true;
  size_t replayed = 0;
  while ((!completions_.empty() || !replayed_.empty()) && !finished_) {
    if (!replayed_.empty()) {
      // The rest on later turns (on_tick): the loop serves everything else in between.
      if (settings_.replay_per_turn > 0 && replayed++ >= settings_.replay_per_turn) break;
      // Deliver memo results as if their items had just completed (never from inside start()).
      auto [leaf_id, result] = std::move(replayed_.front());
      replayed_.pop_front();
      if (auto node = nodes_.find(leaf_id); node != nodes_.end()) {
        node->second->item_done(std::move(result));
      }
      continue;
    }
    auto [id, result] = std::move(completions_.front());
    completions_.pop_front();
    auto it = nodes_.find(id);
    if (it == nodes_.end()) continue;  // destroyed meanwhile
    Node* node = it->second;
    if (Node* parent = node->parent()) {
      if (!parent->done()) parent->child_done(*node, std::move(result));
    } else {
      finished_ = true;
      result_ = std::move(result);
      if (Value usage = progress_.usage(); !usage.is_null()) result_["usage"] = std::move(usage);
    }
  }
  draining_ = false;
  if (finished_) {
    completions_.clear();
    replayed_.clear();
    root_.reset();
  }
}

}  // namespace pl::broker
