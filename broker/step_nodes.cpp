#include "broker/step_nodes.h"

#include "broker/step_binding.h"
#include "broker/step_node_support.h"
#include "broker/step_output.h"
#include "common/pipeline/condition.h"
#include "common/pipeline/template.h"
#include "common/value_digest.h"

namespace pl::broker {

using pipeline::Step;
using pipeline::StepType;
namespace {

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

// The LLM provider an item calls, for the dispatcher's per-provider limits and breakers. An
// `llm` step without `provider` (or with an empty one) calls `default_llm`, as the worker does
// (llm_call_spec, with providers.default_provider).
std::string provider_of(const std::string& step_type, const Value& input,
                        const std::string& default_llm) {
  if (step_type.rfind("claude", 0) == 0 || step_type == "parallel_claude") return "anthropic";
  if (step_type.rfind("gemini", 0) == 0) return "gemini";
  if (step_type == "llm") {
    std::string named = input.get_string("provider");
    return named.empty() ? default_llm : named;
  }
  return "";
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

std::string SequenceNode::step_path(std::string sequence_path, size_t index) {
  if (!sequence_path.empty()) sequence_path += '.';
  sequence_path += 's';
  sequence_path += std::to_string(index);
  return sequence_path;
}

std::string SequenceNode::step_display(std::string sequence_display, const Step& step) {
  if (sequence_display.empty()) return step.name;
  sequence_display += '.';
  sequence_display += step.name;
  return sequence_display;
}

namespace {

// What stops a sequence when `step` failed with `error` (a leaf's error already names its step).
std::string sequence_failure(const Step& step, const std::string& error) {
  return error.rfind("step \"", 0) == 0 ? error : "step \"" + step.name + "\" failed: " + error;
}

bool runs_as_leaf(StepType type) {
  switch (type) {
    case StepType::kForLoop:
    case StepType::kWhileLoop:
    case StepType::kPipeline:
    case StepType::kParallelClaude:
    case StepType::kClaudeBatch:
      return false;
    default:
      return true;  // make_step_node makes a LeafNode
  }
}

}  // namespace

const Step* SequenceNode::lone_leaf(const std::vector<Step>& steps) {
  if (steps.size() != 1) return nullptr;
  const Step& step = steps.front();
  // record() and apply_effects() would do more than keep the result for these.
  const bool plain = runs_as_leaf(step.type) && step.condition.is_null() &&
                     step.type != StepType::kSetVariable && step.output_to_file.empty();
  return plain ? &step : nullptr;
}

Value SequenceNode::lone_leaf_summary(const Step& step, Value result, bool with_steps) {
  // As record() then advance() would finish a sequence of this one step.
  const bool stops = !result.get_bool("success") && step.on_error != pipeline::OnError::kContinue;
  Value summary;
  summary["success"] = !stops;
  if (stops) summary["error"] = sequence_failure(step, result.get_string("error"));
  if (with_steps) summary["steps"][step.name] = std::move(result);
  return summary;
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
    current_ = make_step_node(run_, this, step_path(path(), next_), step_display(display(), step),
                              step, *frame_);
    current_->start();
    return;  // the child's completion resumes us
  }
  Value summary;
  summary["success"] = failure_.empty();
  // The frame is done: its results move to the summary (a loop's break_condition reads them
  // from there).
  summary["steps"] = std::move(frame_->results);
  frame_->results = Value::object();
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
  failure_ = sequence_failure(step, error);
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
    auto written = write_step_output(run_.paths().output_dir, step.output_to_file, scope, result);
    if (written.ok()) {
      result["output_file"] = written->string();
      if (result.find("text_file")) result["text_file"] = written->string();  // moved there
    } else {
      result["success"] = false;
      result["error"] = at_step(step, "output_to_file: " + written.error().message);
      result["error_code"] = std::string(error_code_name(written.error().code));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// LeafNode

LeafNode::LeafNode(RunExecution& run, Node* parent, std::string path, std::string display,
                   const Step& step, const Frame& frame, LeafWork work)
    : Node(run, parent, std::move(path), std::move(display)),
      step_(step),
      frame_(frame),
      work_(std::move(work)) {}

LeafNode::~LeafNode() {
  if (waiting_) run_.abandon_item(run_.item_id(*this));
}

void LeafNode::start() {
  std::string item_id = run_.item_id(*this);
  FrameScope frame_scope(frame_);
  // Both arms lvalues: a temporary here would die before the scope that borrows it is used.
  static const Value kNoOverlay = Value::object();
  OverlayScope scope(work_.extra_scope.is_object() ? work_.extra_scope : kNoOverlay, frame_scope);
  // A data_transform's operations are evaluated per item on the worker, never rendered here;
  // its sources are resolved once, by bind_step_input.
  Result<Value> rendered = Value();
  if (step_.type == StepType::kDataTransform && work_.input().is_object()) {
    Value without = work_.input();
    without.as_object().erase("operations");
    without.as_object().erase("input_source");
    rendered = pipeline::render_value(without, scope);
  } else {
    rendered = pipeline::render_value(work_.input(), scope, &run_.templates());
  }
  auto input = rendered.ok() ? bind_step_input(step_, std::move(*rendered), frame_scope, *frame_.context)
                             : Result<Value>(std::move(rendered).error());
  if (!input.ok()) {
    finish(failure_result(at_step(step_, input.error().message), input.error().code));
    return;
  }
  // A recorded result is used only for the input it was made from, so the input is bound first.
  const uint64_t digest = value_digest(*input);
  if (run_.replay_recorded(*this, item_id, digest)) return;  // no item to wait for or give up
  WorkSpec spec;
  spec.input_digest = digest;
  spec.item_id = std::move(item_id);
  spec.run_id = run_.run_id();
  spec.step_name = display();
  spec.step_type = work_.step_type;
  spec.provider = provider_of(work_.step_type, *input, run_.settings().default_llm_provider);
  spec.input = std::move(*input);
  spec.timeout_ms =
      work_.timeout_ms.value_or(step_.timeout_ms.value_or(run_.settings().default_timeout_ms));
  spec.retry = retry_settings(step_);
  spec.tell_retries = work_.step_type == "claude_robust";
  if (spec.tell_retries) {
    const Value* config = spec.input.find("retry_config");
    const std::string fallback = config ? config->get_string("fallback_action") : "";
    spec.falls_back_without_provider = fallback == "skip" || fallback == "mock_response";
  }
  spec.context = run_.item_context(*frame_.context);
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
// ParallelNode

ParallelNode::ParallelNode(RunExecution& run, Node* parent, std::string path, std::string display,
                           const Step& step, const Frame& frame)
    : Node(run, parent, std::move(path), std::move(display)),
      step_(step),
      frame_(frame),
      elements_(run.settings().max_inline_items, run.settings().max_inline_bytes) {}

ParallelNode::~ParallelNode() { run_.loop_finished(id()); }

void ParallelNode::start() {
  auto source = open_source();
  if (!source.ok()) {
    finish(failure_result(at_step(step_, source.error().message), source.error().code));
    return;
  }
  source_ = std::move(*source);
  set_step_deadline(run_, *this, step_.timeout_ms);
  settings_ = settings();
  settings_.max_parallel = std::max<size_t>(1, settings_.max_parallel);
  total_ = source_->total();
  limit_ = settings_.max_items > 0 ? std::min(total_, settings_.max_items) : total_;
  elements_.expect(limit_);
  run_.report_loop(id(), display(), 0, 0, limit_);
  launch();
  finish_if_done();
}

void ParallelNode::capacity_available() {
  launch();
  finish_if_done();
}

void ParallelNode::deadline_passed() {
  // As when an error stops it: children still running are given up with this node (their
  // items cancelled), and the result lists what ran and what was given up.
  timed_out_ = true;
  stop_launching("error");
  finish_if_done();
}

void ParallelNode::launch() {
  while (!stopping_ && next_ < limit_ && running_.size() < settings_.max_parallel) {
    if (!run_.has_capacity()) {
      run_.wait_for_capacity(*this);  // back-pressure: wait for the broker, do not queue more
      return;
    }
    auto element = source_->next();
    if (!element.ok() && element_error(element.error())) {
      // A line that cannot be read or is not a valid task: that element fails, the rest run.
      const size_t index = next_++;
      Value failed = failure_result(at_step(step_, element.error().message), element.error().code);
      failed["index"] = static_cast<int64_t>(index);  // as every entry has, to say which line
      record(index, std::move(failed));
      continue;
    }
    if (!element.ok() || !element->has_value()) {
      // The file cannot be read, or shrank since it was counted: nothing more to run.
      step_error_ = element.ok() ? "fewer elements than counted" : element.error().message;
      stop_launching("error");
      break;
    }
    const size_t index = next_++;
    Child child = make_child(index, total_, std::move(**element));
    Node* raw = child.node.get();
    running_.emplace(raw, Running{index, std::move(child)});
    raw->start();
  }
}

void ParallelNode::child_done(Node& child, Value node_result) {
  auto it = running_.find(&child);
  if (it == running_.end()) return;
  Value result = element_result(std::move(node_result));
  const size_t index = it->second.index;
  auto stop = stopping_ ? Result<bool>(false) : should_break(child, result);
  record(index, item_value(index, child, std::move(result)));
  if (!stop.ok()) {
    // The loop's own error: the element is counted as it finished, not once more as failed.
    if (!stopping_) step_error_ = stop.error().message;
    stop_launching("error");
  } else if (*stop) {
    stop_launching("break_condition");
  }
  running_.erase(it);  // the child is done; its completion is being handled here
  launch();
  finish_if_done();
}

void ParallelNode::record(size_t index, Value entry) {
  if (entry.get_bool("success")) {
    ++succeeded_;
  } else {
    ++failed_;
    const std::string what = entry.get_string("error");
    if (first_failure_.empty()) first_failure_ = "item " + std::to_string(index) + ": " + what;
    elements_.note_failure(index, what);
    if (settings_.break_on_error) stop_launching("error");
  }
  element_finished(index, entry);
  elements_.keep(index, std::move(entry));
  run_.report_loop(id(), display(), succeeded_ + failed_, failed_, limit_);
}

void ParallelNode::stop_launching(const char* why) {
  if (stopping_) return;
  stopping_ = true;
  stopped_ = why;
}

Value ParallelNode::unfinished_item(size_t index) {
  Value entry;
  entry["success"] = false;
  entry["not_run"] = true;
  entry["index"] = static_cast<int64_t>(index);
  return entry;
}

void ParallelNode::finish_if_done() {
  // A break stops at once: children still running are given up with this node (their items
  // are abandoned at the dispatcher), since finishing them could only cost.
  if (!stopping_ && (!running_.empty() || next_ < limit_)) return;
  Value out;
  out["success"] = failed_ == 0 && step_error_.empty();
  out["total"] = static_cast<int64_t>(total_);
  out["succeeded"] = static_cast<int64_t>(succeeded_);
  out["failed"] = static_cast<int64_t>(failed_);
  const size_t finished = succeeded_ + failed_;
  if (finished < total_) out["not_run"] = static_cast<int64_t>(total_ - finished);
  if (*stopped_) {
    out["stopped"] = stopped_;
  } else if (limit_ < total_) {
    out["stopped"] = "max_iterations";
  }
  // Elements never started are left out (counted in not_run); those started and given up
  // when the step stopped are marked.
  elements_.write_to(out, next_, [this](size_t index) { return unfinished_item(index); });
  if (timed_out_) {
    Value timed_out = timeout_result(step_, step_.timeout_ms.value_or(0));
    out["success"] = false;
    out["error"] = std::move(timed_out["error"]);
    out["error_code"] = std::move(timed_out["error_code"]);
    finish(std::move(out));  // no consolidation of what a failed step got done
    return;
  }
  if (!step_error_.empty()) {
    out["error"] = step_error_;
  } else if (failed_ > 0) {
    out["error"] = first_failure_;
  }
  complete_result(out);
  finish(std::move(out));
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
    case StepType::kPipeline:
      return std::make_unique<NestedPipelineNode>(run, parent, std::move(path), std::move(display),
                                                  step, frame);
    case StepType::kParallelClaude:
    case StepType::kClaudeBatch:
      return std::make_unique<FanOutNode>(run, parent, std::move(path), std::move(display), step,
                                          frame);
    default:
      return std::make_unique<LeafNode>(
          run, parent, std::move(path), std::move(display), step, frame,
          LeafWork{std::string(pipeline::step_type_name(step.type)), &step.options, Value(),
                   std::nullopt, Value()});
  }
}

}  // namespace pl::broker
