// The loops: for_loop (a ParallelNode over its items) and while_loop (one iteration at a time).
#include "broker/step_node_support.h"
#include "broker/step_nodes.h"
#include "common/pipeline/condition.h"
#include "common/pipeline/expression.h"
#include "common/pipeline/template.h"

namespace pl::broker {

using pipeline::Step;

// ---------------------------------------------------------------------------------------------
// ForLoopNode

ForLoopNode::ForLoopNode(RunExecution& run, Node* parent, std::string path, std::string display,
                         const Step& step, const Frame& frame)
    : ParallelNode(run, parent, std::move(path), std::move(display), step, frame),
      iterator_(step.options.get_string("iterator", "item")),
      break_condition_(step.options.find("break_condition")),
      // break_condition reads the iteration's frame from its sequence node: keep one then.
      lone_leaf_(break_condition_ ? nullptr : SequenceNode::lone_leaf(step.steps)) {}

Result<std::unique_ptr<ItemSource>> ForLoopNode::open_source() {
  FrameScope scope(frame_);
  const Value& options = step_.options;
  Result<Value> list = make_error(ErrorCode::kInvalidInput, "no data_source, items or items_file");
  if (const Value* source = options.find("data_source")) {
    if (!source->is_string()) {  // a list written out, rendered as `items` is
      list = pipeline::render_value(*source, scope, &run_.templates());
    } else if (pipeline::has_template(source->as_string())) {  // "{{steps.scan.files}}"
      list = pipeline::render_template(source->as_string(), scope);
    } else {  // the bare reference "steps.scan.files"
      list = pipeline::evaluate_expression(source->as_string(), scope);
    }
  } else if (const Value* items = options.find("items")) {
    list = pipeline::render_value(*items, scope);
  } else if (const Value* file = options.find("items_file")) {
    auto name = pipeline::render_value(*file, scope);
    if (!name.ok()) return std::move(name).error();
    return jsonl_file_source(frame_.context->base_dir / pipeline::template_text(*name));
  }
  if (!list.ok()) return std::move(list).error().with_context("items");
  if (!list->is_array()) {
    return make_error(ErrorCode::kInvalidInput,
                      "items must be a list, got " + a_kind(list->kind()));
  }
  return list_source(std::move(*list));
}

ParallelNode::Settings ForLoopNode::settings() {
  Settings s;
  const bool parallel = step_.options.get_bool("parallel", false);
  const int64_t max_parallel =
      step_.options.get_int("max_parallel", run_.settings().default_max_parallel);
  s.max_parallel = parallel ? static_cast<size_t>(std::max<int64_t>(1, max_parallel)) : 1;
  s.break_on_error = step_.options.get_bool("break_on_error", false);
  s.max_items =
      static_cast<size_t>(std::max<int64_t>(0, step_.options.get_int("max_iterations", 0)));
  return s;
}

ParallelNode::Child ForLoopNode::make_child(size_t index, size_t total, Value element) {
  auto frame = std::make_unique<Frame>();
  frame->outer = &frame_;
  frame->context = frame_.context;
  frame->set_iteration(iterator_, std::move(element), static_cast<int64_t>(index),
                       static_cast<int64_t>(total));
  // Built in place, each with room for the leaf's part a lone leaf adds (one allocation each).
  const std::string number = std::to_string(index);
  std::string iteration_path;
  iteration_path.reserve(path().size() + number.size() + 8);
  iteration_path.append(path()).append(".i").append(number);
  std::string iteration_display;
  iteration_display.reserve(display().size() + number.size() + 3 +
                            (lone_leaf_ ? lone_leaf_->name.size() : 0));
  iteration_display.append(display()).append(1, '[').append(number).append(1, ']');
  if (lone_leaf_) {
    // The very leaf its sequence would start: the same path, hence the same item id.
    auto leaf = make_step_node(
        run_, this, SequenceNode::step_path(std::move(iteration_path), 0),
        SequenceNode::step_display(std::move(iteration_display), *lone_leaf_), *lone_leaf_, *frame);
    return {std::move(frame), std::move(leaf)};
  }
  return {nullptr, std::make_unique<SequenceNode>(run_, this, std::move(iteration_path),
                                                  std::move(iteration_display), step_.steps,
                                                  std::move(frame))};
}

Value ForLoopNode::element_result(Value node_result) {
  // Past max_inline_items only the outcome is kept (item_value): spare building the rest.
  return lone_leaf_
             ? SequenceNode::lone_leaf_summary(*lone_leaf_, std::move(node_result), keeps_items())
             : node_result;
}

Value ForLoopNode::item_value(size_t index, Node&, Value result) {
  // A lone leaf's summary without steps (element_result) is {success, error?} already.
  if (lone_leaf_ && !keeps_items()) return result;
  Value iteration;
  iteration["success"] = result.get_bool("success");
  if (!keeps_items()) {  // only the outcome counts: spare building what nobody keeps
    if (!result.get_bool("success")) iteration["error"] = result.get_string("error");
    return iteration;
  }
  iteration["index"] = static_cast<int64_t>(index);
  iteration["steps"] = result.find("steps") ? std::move(*result.find("steps")) : Value::object();
  if (!result.get_bool("success")) iteration["error"] = result.get_string("error");
  return iteration;
}

Result<bool> ForLoopNode::should_break(Node& child, const Value& result) {
  if (!break_condition_) return false;
  // The iteration's frame gave its results to `result`; look at them with its loop variables.
  const Frame& done = static_cast<SequenceNode&>(child).frame();
  Frame view;
  view.outer = done.outer;
  view.context = done.context;
  if (const Value* loop = done.own_loop()) view.set_loop(*loop);
  view.local_state = done.local_state;
  if (const Value* steps = result.find("steps")) view.results = *steps;
  FrameScope scope(view);
  auto holds = pipeline::evaluate_condition(*break_condition_, scope);
  if (!holds.ok()) return holds.error().with_context(at_step(step_, "break_condition"));
  return *holds;
}

// ---------------------------------------------------------------------------------------------
// WhileLoopNode

WhileLoopNode::WhileLoopNode(RunExecution& run, Node* parent, std::string path, std::string display,
                             const Step& step, const Frame& frame)
    : Node(run, parent, std::move(path), std::move(display)),
      step_(step),
      frame_(frame),
      elements_(run.settings().max_inline_items, run.settings().max_inline_bytes) {}

void WhileLoopNode::start() {
  max_iterations_ = std::max<int64_t>(1, step_.options.get_int("max_iterations", 1));
  break_on_error_ = step_.options.get_bool("break_on_error", true);
  set_step_deadline(run_, *this, step_.timeout_ms);
  next_iteration();
}

void WhileLoopNode::deadline_passed() {
  Value out = timeout_result(step_, step_.timeout_ms.value_or(0));
  out["iterations"] = iteration_;
  finish(std::move(out));
}

void WhileLoopNode::finish_with(bool success, std::string stopped, std::string error) {
  if (failed_ > 0 && error.empty()) {  // iterations failed, and the loop went on past them
    success = false;
    error = first_failure_;
  }
  Value out;
  out["success"] = success;
  out["iterations"] = iteration_;
  if (failed_ > 0) out["failed"] = failed_;
  out["stopped"] = std::move(stopped);
  elements_.write_to(out, static_cast<size_t>(iteration_), [](size_t) { return Value(); });
  if (!error.empty()) out["error"] = std::move(error);
  finish(std::move(out));
}

void WhileLoopNode::next_iteration() {
  if (iteration_ >= max_iterations_) {
    finish_with(true, "max_iterations", "");
    return;
  }
  auto frame = std::make_unique<Frame>();
  frame->outer = &frame_;
  frame->context = frame_.context;
  frame->set_loop(pipeline::make_while_frame(iteration_, frame_.innermost_loop()));
  // Loop-scoped variables carry over: an iteration's steps see what the one before set (a
  // counter that `scope: loop` keeps), as the condition does.
  frame->local_state = last_.local_state;
  {
    // The condition sees the iteration's loop value and the results of the iteration before;
    // the body starts from no results.
    last_.outer = &frame_;
    last_.context = frame_.context;
    last_.set_loop(*frame->own_loop());
    FrameScope scope(last_);
    auto holds = pipeline::evaluate_condition(step_.condition, scope);
    if (!holds.ok()) {
      finish_with(false, "error", at_step(step_, "condition: " + holds.error().message));
      return;
    }
    if (!*holds) {
      finish_with(true, "condition", "");
      return;
    }
  }
  current_ = std::make_unique<SequenceNode>(run_, this, path() + ".i" + std::to_string(iteration_),
                                            display() + "[" + std::to_string(iteration_) + "]",
                                            step_.steps, std::move(frame));
  current_->start();
}

void WhileLoopNode::child_done(Node& child, Value result) {
  if (!current_ || &child != current_.get()) return;
  last_.local_state = current_->frame().local_state;
  current_.reset();
  const bool ok = result.get_bool("success");
  const auto index = static_cast<size_t>(iteration_++);
  Value* steps = result.find("steps");
  // The sequence's frame gave its results away: the condition reads them from here.
  last_.results = steps ? std::move(*steps) : Value::object();
  if (elements_.keeping()) {
    Value iteration;
    iteration["success"] = ok;
    iteration["index"] = static_cast<int64_t>(index);
    iteration["steps"] = last_.results;
    if (!ok) iteration["error"] = result.get_string("error");
    elements_.keep(index, std::move(iteration));
  }
  if (!ok) {
    ++failed_;
    elements_.note_failure(index, result.get_string("error"));
    std::string what = "iteration " + std::to_string(index) + ": " + result.get_string("error");
    if (break_on_error_) {
      finish_with(false, "error", std::move(what));
      return;
    }
    if (first_failure_.empty()) first_failure_ = std::move(what);
  }
  next_iteration();
}

}  // namespace pl::broker
