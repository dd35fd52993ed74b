#include "broker/step_nodes.h"

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/pipeline/condition.h"
#include "common/pipeline/expression.h"
#include "common/pipeline/template.h"

namespace pl::broker {
namespace {

using pipeline::Step;
using pipeline::StepType;

Value failure_result(std::string message, ErrorCode code = ErrorCode::kInvalidInput) {
  Value v;
  v["success"] = false;
  v["error"] = std::move(message);
  v["error_code"] = std::string(error_code_name(code));
  return v;
}

// "step \"greet\" (hello.yaml:12:7): what" — where a pipeline author should look.
std::string at_step(const Step& step, std::string_view what) {
  return "step \"" + step.name + "\" (" + pipeline::to_string(step.location) + "): " +
         std::string(what);
}

RetrySettings retry_settings(const Step& step) {
  RetrySettings r;
  if (!step.retry) return r;
  r.max_attempts = static_cast<uint32_t>(std::max(1, step.retry->max_attempts));
  switch (step.retry->backoff) {
    case pipeline::Backoff::kFixed:
      r.backoff = BackoffKind::kFixed;
      break;
    case pipeline::Backoff::kLinear:
      r.backoff = BackoffKind::kLinear;
      break;
    case pipeline::Backoff::kExponential:
      r.backoff = BackoffKind::kExponential;
      break;
  }
  r.base_delay_ms = step.retry->base_delay_ms;
  r.max_delay_ms = step.retry->max_delay_ms;
  r.retry_on = step.retry->retry_on;
  return r;
}

// A path under `root` named by `relative`, refused when it would leave `root`.
Result<std::filesystem::path> confined(const std::filesystem::path& root,
                                       const std::string& relative) {
  const std::filesystem::path p(relative);
  if (p.is_absolute()) {
    return make_error(ErrorCode::kInvalidInput, "\"" + relative + "\" is absolute; give a path "
                                                "relative to the output directory");
  }
  const auto joined = (root / p).lexically_normal();
  const auto rel = joined.lexically_relative(root.lexically_normal());
  if (rel.empty() || *rel.begin() == "..") {
    return make_error(ErrorCode::kInvalidInput, "\"" + relative + "\" leaves the output directory");
  }
  return joined;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SequenceNode

SequenceNode::SequenceNode(RunExecution& run, Node* parent, std::string path, std::string display,
                           const std::vector<Step>& steps, std::unique_ptr<Frame> frame)
    : Node(run, parent, std::move(path), std::move(display)),
      steps_(steps),
      frame_(std::move(frame)) {}

void SequenceNode::start() { advance(); }

std::string SequenceNode::child_display(const Step& step) const {
  return display().empty() ? step.name : display() + "." + step.name;
}

void SequenceNode::advance() {
  while (next_ < steps_.size()) {
    const Step& step = steps_[next_];
    // A while_loop's condition is its loop condition, checked by the loop itself.
    if (!step.condition.is_null() && step.type != StepType::kWhileLoop) {
      FrameScope scope(*frame_);
      auto holds = pipeline::evaluate_condition(step.condition, scope);
      if (!holds.ok()) {
        if (!record(step, failure_result(at_step(step, "condition: " + holds.error().message)))) return;
        ++next_;
        continue;
      }
      if (!*holds) {
        Value skipped;
        skipped["success"] = true;
        skipped["skipped"] = true;
        record(step, std::move(skipped));
        ++next_;
        continue;
      }
    }
    const std::string child_path =
        (path().empty() ? "" : path() + ".") + "s" + std::to_string(next_);
    current_ = make_step_node(run_, this, child_path, child_display(step), step, *frame_);
    current_->start();
    return;  // the child's completion resumes us
  }
  Value summary;
  summary["success"] = failure_.empty();
  summary["steps"] = frame_->results;
  if (!failure_.empty()) summary["error"] = failure_;
  finish(std::move(summary));
}

void SequenceNode::child_done(Node& child, Value result) {
  if (!current_ || &child != current_.get()) return;
  const Step& step = steps_[next_];
  current_.reset();
  if (!record(step, std::move(result))) return;
  ++next_;
  advance();
}

bool SequenceNode::record(const Step& step, Value result) {
  if (result.get_bool("success") && !result.get_bool("skipped")) apply_effects(step, result);
  const bool ok = result.get_bool("success");
  std::string error = result.get_string("error");
  frame_->results[step.name] = std::move(result);
  if (ok || step.on_error == pipeline::OnError::kContinue) return true;
  failure_ = error.rfind("step \"", 0) == 0 ? error : "step \"" + step.name + "\" failed: " + error;
  Value summary;
  summary["success"] = false;
  summary["steps"] = frame_->results;
  summary["error"] = failure_;
  finish(std::move(summary));
  return false;
}

void SequenceNode::apply_effects(const Step& step, Value& result) {
  if (step.type == StepType::kSetVariable) {
    if (const Value* vars = result.find("data"); vars && vars->is_object()) {
      const bool loop_scope = step.options.get_string("scope") == "loop" && frame_->outer;
      Value& target = loop_scope ? frame_->local_state : frame_->context->state;
      for (const auto& [k, v] : vars->as_object()) target[k] = v;
    }
  }
  if (!step.output_to_file.empty()) {
    // The path may name loop variables and this step's own result.
    frame_->results[step.name] = result;
    FrameScope scope(*frame_);
    auto rendered = pipeline::render_template(step.output_to_file, scope);
    Status written = ok_status();
    if (!rendered.ok()) {
      written = rendered.error();
    } else {
      auto path = confined(run_.paths().output_dir, pipeline::template_text(*rendered));
      if (!path.ok()) {
        written = path.error();
      } else {
        const Value* text = result.find("text");
        const Value* data = result.find("data");
        const std::string content = text && text->is_string() ? text->as_string()
                                    : data ? to_json(*data, JsonStyle::kPretty) + "\n"
                                           : to_json(result, JsonStyle::kPretty) + "\n";
        written = write_file_atomic(*path, content);
        if (written.ok()) result["output_file"] = path->string();
      }
    }
    if (!written.ok()) {
      result["success"] = false;
      result["error"] = at_step(step, "output_to_file: " + written.error().message);
      result["error_code"] = std::string(error_code_name(written.error().code));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// LeafNode

LeafNode::LeafNode(RunExecution& run, Node* parent, std::string path, std::string display,
                   const Step& step, const Frame& frame)
    : Node(run, parent, std::move(path), std::move(display)), step_(step), frame_(frame) {}

LeafNode::~LeafNode() {
  if (waiting_) run_.abandon_item(item_id_);
}

void LeafNode::start() {
  FrameScope scope(frame_);
  auto input = pipeline::render_value(step_.options, scope);
  if (!input.ok()) {
    finish(failure_result(at_step(step_, input.error().message), input.error().code));
    return;
  }
  WorkSpec spec;
  spec.item_id = run_.item_id(*this);
  spec.run_id = run_.run_id();
  spec.step_name = display();
  spec.step_type = std::string(pipeline::step_type_name(step_.type));
  spec.input = std::move(*input);
  spec.timeout_ms = step_.timeout_ms.value_or(run_.settings().default_timeout_ms);
  spec.retry = retry_settings(step_);
  spec.context = run_.item_context();
  item_id_ = spec.item_id;
  waiting_ = true;
  run_.submit_item(*this, std::move(spec));
}

void LeafNode::item_done(Value result) {
  waiting_ = false;
  if (!result.get_bool("success") && result.find("error")) {
    result["error"] = at_step(step_, result.get_string("error"));
  }
  finish(std::move(result));
}

// ---------------------------------------------------------------------------------------------
// ForLoopNode

ForLoopNode::ForLoopNode(RunExecution& run, Node* parent, std::string path, std::string display,
                         const Step& step, const Frame& frame)
    : Node(run, parent, std::move(path), std::move(display)), step_(step), frame_(frame) {}

Result<Value> ForLoopNode::resolve_items() {
  FrameScope scope(frame_);
  const Value& options = step_.options;
  if (const Value* source = options.find("data_source")) {
    if (!source->is_string()) return *source;
    // "{{steps.scan.files}}" or the bare reference "steps.scan.files".
    if (pipeline::has_template(source->as_string())) {
      return pipeline::render_template(source->as_string(), scope);
    }
    return pipeline::evaluate_expression(source->as_string(), scope);
  }
  if (const Value* items = options.find("items")) return pipeline::render_value(*items, scope);
  if (const Value* file = options.find("items_file")) {
    auto name = pipeline::render_value(*file, scope);
    if (!name.ok()) return name;
    const auto path = run_.paths().base_dir / pipeline::template_text(*name);
    auto text = read_file(path);
    if (!text.ok()) return std::move(text).error();
    Value list = Value::array();
    size_t line_no = 0, start = 0;
    while (start < text->size()) {
      size_t end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      ++line_no;
      const std::string_view line(text->data() + start, end - start);
      start = end + 1;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      auto item = parse_json(line);
      if (!item.ok()) {
        return make_error(ErrorCode::kInvalidInput, path.string() + ":" + std::to_string(line_no) +
                                                        ": " + item.error().message);
      }
      list.push_back(std::move(*item));
    }
    return list;
  }
  return make_error(ErrorCode::kInvalidInput, "no data_source, items or items_file");
}

void ForLoopNode::start() {
  auto items = resolve_items();
  if (!items.ok()) {
    finish(failure_result(at_step(step_, "items: " + items.error().message), items.error().code));
    return;
  }
  if (!items->is_array()) {
    finish(failure_result(at_step(step_, "items must be a list, got a " +
                                             std::string(kind_name(items->kind())))));
    return;
  }
  items_ = std::move(*items);
  total_ = items_.as_array().size();
  results_.assign(total_, Value());
  iterator_ = step_.options.get_string("iterator", "item");
  const bool parallel = step_.options.get_bool("parallel", false);
  const int64_t max_parallel =
      step_.options.get_int("max_parallel", run_.settings().default_max_parallel);
  max_parallel_ = parallel ? static_cast<size_t>(std::max<int64_t>(1, max_parallel)) : 1;
  break_on_error_ = step_.options.get_bool("break_on_error", false);
  launch();
  finish_if_done();
}

void ForLoopNode::launch() {
  while (!stopping_ && next_ < total_ && active_.size() < max_parallel_) {
    const size_t index = next_++;
    auto frame = std::make_unique<Frame>();
    frame->outer = &frame_;
    frame->context = frame_.context;
    frame->loop = pipeline::make_loop_frame(iterator_, items_.as_array()[index],
                                            static_cast<int64_t>(index),
                                            static_cast<int64_t>(total_), frame_.innermost_loop());
    auto iteration = std::make_unique<SequenceNode>(
        run_, this, path() + ".i" + std::to_string(index),
        display() + "[" + std::to_string(index) + "]", step_.steps, std::move(frame));
    SequenceNode* started = iteration.get();
    active_[index] = std::move(iteration);
    started->start();
  }
}

void ForLoopNode::child_done(Node& child, Value result) {
  size_t index = total_;
  for (const auto& [i, node] : active_) {
    if (node.get() == &child) index = i;
  }
  if (index == total_) return;
  const bool ok = result.get_bool("success");
  Value iteration;
  iteration["success"] = ok;
  iteration["index"] = static_cast<int64_t>(index);
  iteration["steps"] = result.find("steps") ? *result.find("steps") : Value::object();
  if (!ok) {
    iteration["error"] = result.get_string("error");
    ++failed_;
    if (first_failure_.empty()) {
      first_failure_ = "iteration " + std::to_string(index) + ": " + result.get_string("error");
    }
    if (break_on_error_) stopping_ = true;
  } else {
    ++succeeded_;
  }
  if (const Value* condition = step_.options.find("break_condition"); condition && !stopping_) {
    FrameScope scope(static_cast<SequenceNode&>(child).frame());
    auto holds = pipeline::evaluate_condition(*condition, scope);
    if (!holds.ok()) {
      stopping_ = true;
      ++failed_;
      first_failure_ = "break_condition: " + holds.error().message;
    } else if (*holds) {
      stopping_ = true;
    }
  }
  results_[index] = std::move(iteration);
  active_.erase(index);
  launch();
  finish_if_done();
}

void ForLoopNode::finish_if_done() {
  // A break stops at once: iterations still running are given up with this node (their items
  // are abandoned at the dispatcher), since finishing them could only cost.
  if (!stopping_ && (!active_.empty() || next_ < total_)) return;
  Value out;
  out["success"] = failed_ == 0;
  out["total"] = static_cast<int64_t>(total_);
  out["succeeded"] = static_cast<int64_t>(succeeded_);
  out["failed"] = static_cast<int64_t>(failed_);
  const size_t finished = succeeded_ + failed_;
  if (finished < total_) out["not_run"] = static_cast<int64_t>(total_ - finished);
  Value::Array items;
  items.reserve(total_);
  for (auto& r : results_) items.push_back(std::move(r));
  out["items"] = Value(std::move(items));
  if (failed_ > 0) out["error"] = first_failure_;
  finish(std::move(out));
}

// ---------------------------------------------------------------------------------------------
// WhileLoopNode

WhileLoopNode::WhileLoopNode(RunExecution& run, Node* parent, std::string path,
                             std::string display, const Step& step, const Frame& frame)
    : Node(run, parent, std::move(path), std::move(display)), step_(step), frame_(frame) {}

void WhileLoopNode::start() {
  max_iterations_ = std::max<int64_t>(1, step_.options.get_int("max_iterations", 1));
  next_iteration();
}

void WhileLoopNode::next_iteration() {
  auto finish_with = [this](bool success, std::string stopped, std::string error) {
    Value out;
    out["success"] = success;
    out["iterations"] = iteration_;
    out["stopped"] = std::move(stopped);
    out["items"] = Value(Value::Array(results_.begin(), results_.end()));
    if (!error.empty()) out["error"] = std::move(error);
    finish(std::move(out));
  };
  if (iteration_ >= max_iterations_) {
    finish_with(true, "max_iterations", "");
    return;
  }
  auto frame = std::make_unique<Frame>();
  frame->outer = &frame_;
  frame->context = frame_.context;
  frame->loop = pipeline::make_while_frame(iteration_, frame_.innermost_loop());
  {
    FrameScope scope(*frame);
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
  current_ = std::make_unique<SequenceNode>(
      run_, this, path() + ".i" + std::to_string(iteration_),
      display() + "[" + std::to_string(iteration_) + "]", step_.steps, std::move(frame));
  current_->start();
}

void WhileLoopNode::child_done(Node& child, Value result) {
  if (!current_ || &child != current_.get()) return;
  current_.reset();
  const bool ok = result.get_bool("success");
  Value iteration;
  iteration["success"] = ok;
  iteration["index"] = iteration_;
  iteration["steps"] = result.find("steps") ? *result.find("steps") : Value::object();
  results_.push_back(std::move(iteration));
  ++iteration_;
  if (!ok) {
    Value out;
    out["success"] = false;
    out["iterations"] = iteration_;
    out["items"] = Value(Value::Array(results_.begin(), results_.end()));
    out["error"] = "iteration " + std::to_string(iteration_ - 1) + ": " + result.get_string("error");
    finish(std::move(out));
    return;
  }
  next_iteration();
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<Node> make_step_node(RunExecution& run, Node* parent, std::string path,
                                     std::string display, const Step& step, const Frame& frame) {
  switch (step.type) {
    case StepType::kForLoop:
      return std::make_unique<ForLoopNode>(run, parent, std::move(path), std::move(display), step,
                                           frame);
    case StepType::kWhileLoop:
      return std::make_unique<WhileLoopNode>(run, parent, std::move(path), std::move(display),
                                             step, frame);
    default:
      return std::make_unique<LeafNode>(run, parent, std::move(path), std::move(display), step,
                                        frame);
  }
}

}  // namespace pl::broker
