#include "broker/step_nodes.h"

#include <spdlog/spdlog.h>

#include "broker/step_binding.h"
#include "broker/step_output.h"
#include "broker/task_lines.h"
#include "common/fs.h"
#include "common/pipeline/condition.h"
#include "common/pipeline/loader.h"
#include "common/pipeline/validate.h"
#include "common/value_digest.h"
#include "common/text.h"
#include "common/pipeline/expression.h"
#include "common/pipeline/template.h"

namespace pl::broker {
namespace {

using pipeline::Step;
using pipeline::StepType;

// A whole-step deadline (RunExecution::set_deadline), from the step's `timeout`, when it has one.
void set_step_deadline(RunExecution& run, const Node& node, std::optional<int64_t> timeout_ms) {
  if (timeout_ms && *timeout_ms > 0) run.set_deadline(node, run.now() + std::chrono::milliseconds(*timeout_ms));
}

Value timeout_result(const Step& step, int64_t timeout_ms);

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

Value timeout_result(const Step& step, int64_t timeout_ms) {
  return failure_result("step \"" + step.name + "\" (" + pipeline::to_string(step.location) +
                            "): timed out after " + std::to_string(timeout_ms) +
                            " ms; what it was still running is cancelled",
                        ErrorCode::kTimeout);
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

// A frame's scope with a few extra roots in front ({task: ...} for batch tasks).
class OverlayScope final : public pipeline::Scope {
 public:
  OverlayScope(const Value& overlay, const pipeline::Scope& under) : overlay_(overlay), under_(under) {}
  const Value* root(std::string_view name) const override {
    if (const Value* v = overlay_.find(name)) return v;
    return under_.root(name);
  }
  const Value* member(std::string_view root, std::string_view name) const override {
    if (overlay_.find(root)) return Scope::member(root, name);
    return under_.member(root, name);
  }
  // An overlay root (a task's own fields) is not a step: its `data` is not read through.
  bool names_step(std::string_view name) const override {
    return !overlay_.find(name) && under_.names_step(name);
  }

 private:
  const Value& overlay_;
  const pipeline::Scope& under_;
};

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

Value merged_object(const Value* base, const Value* over) {
  Value out = base && base->is_object() ? *base : Value::object();
  if (over && over->is_object()) {
    for (const auto& [k, v] : over->as_object()) out[k] = v;
  }
  return out;
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

std::string SequenceNode::step_path(const std::string& sequence_path, size_t index) {
  return (sequence_path.empty() ? "" : sequence_path + ".") + "s" + std::to_string(index);
}

std::string SequenceNode::step_display(const std::string& sequence_display, const Step& step) {
  return sequence_display.empty() ? step.name : sequence_display + "." + step.name;
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

ParallelNode::~ParallelNode() { run_.forget_loop(id()); }

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
  // Children still running are given up with this node (their items cancelled).
  Value out = timeout_result(step_, step_.timeout_ms.value_or(0));
  out["total"] = static_cast<int64_t>(total_);
  out["succeeded"] = static_cast<int64_t>(succeeded_);
  out["failed"] = static_cast<int64_t>(failed_);
  out["not_run"] = static_cast<int64_t>(total_ - succeeded_ - failed_);
  finish(std::move(out));
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
      record(index, failure_result(at_step(step_, element.error().message),
                                   element.error().code));
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
  if (!step_error_.empty()) {
    out["error"] = step_error_;
  } else if (failed_ > 0) {
    out["error"] = first_failure_;
  }
  complete_result(out);
  finish(std::move(out));
}

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
                      "items must be a list, got a " + std::string(kind_name(list->kind())));
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
  s.max_items = static_cast<size_t>(std::max<int64_t>(0, step_.options.get_int("max_iterations", 0)));
  return s;
}

ParallelNode::Child ForLoopNode::make_child(size_t index, size_t total, Value element) {
  auto frame = std::make_unique<Frame>();
  frame->outer = &frame_;
  frame->context = frame_.context;
  frame->set_iteration(iterator_, std::move(element), static_cast<int64_t>(index),
                       static_cast<int64_t>(total));
  std::string iteration_path = path() + ".i" + std::to_string(index);
  std::string iteration_display = display() + "[" + std::to_string(index) + "]";
  if (lone_leaf_) {
    // The very leaf its sequence would start: the same path, hence the same item id.
    auto leaf = make_step_node(run_, this, SequenceNode::step_path(iteration_path, 0),
                               SequenceNode::step_display(iteration_display, *lone_leaf_),
                               *lone_leaf_, *frame);
    return {std::move(frame), std::move(leaf)};
  }
  return {nullptr, std::make_unique<SequenceNode>(run_, this, std::move(iteration_path),
                                                  std::move(iteration_display), step_.steps,
                                                  std::move(frame))};
}

Value ForLoopNode::element_result(Value node_result) {
  // Past max_inline_items only the outcome is kept (item_value): spare building the rest.
  return lone_leaf_ ? SequenceNode::lone_leaf_summary(*lone_leaf_, std::move(node_result),
                                                      keeps_items())
                    : node_result;
}

Value ForLoopNode::item_value(size_t index, Node&, Value result) {
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
// FanOutNode: parallel_claude and claude_batch

namespace {

// Where a batch's consolidated text goes when it is too large for the step result and the step
// has no output_to_file to take it: "OUTPUT_DIR/STEP.consolidated.md" ("loop[2].batch...").
std::filesystem::path consolidated_file(const std::filesystem::path& output_dir,
                                        std::string display) {
  for (char& c : display) {
    if (c == '/' || c == '\\' || c == '\0') c = '_';
  }
  return output_dir / (display + ".consolidated.md");
}

}  // namespace

FanOutNode::FanOutNode(RunExecution& run, Node* parent, std::string path, std::string display,
                       const Step& step, const Frame& frame)
    : ParallelNode(run, parent, std::move(path), std::move(display), step, frame) {
  const Value* batch = step_.options.find("batch_config");
  if (batch && batch->get_bool("consolidate_results", false)) {
    consolidation_ = std::make_unique<Consolidation>(
        consolidated_file(run_.paths().output_dir, this->display()),
        run_.settings().max_inline_bytes);
  }
}

Result<std::unique_ptr<ItemSource>> FanOutNode::open_source() {
  const Value& options = step_.options;
  if (step_.type == StepType::kParallelClaude) {
    const Value* tasks = options.find("parallel_tasks");
    if (!tasks || !tasks->is_array()) return make_error(ErrorCode::kInvalidInput, "parallel_tasks must be a list");
    return list_source(*tasks);
  }
  if (const Value* tasks = options.find("tasks")) {
    if (!tasks->is_array()) return make_error(ErrorCode::kInvalidInput, "tasks must be a list");
    return list_source(*tasks);
  }
  if (const Value* file = options.find("tasks_file")) {
    FrameScope scope(frame_);
    auto name = pipeline::render_value(*file, scope);
    if (!name.ok()) return std::move(name).error();
    // Each line is checked as an inline task is, when it is read.
    auto check = std::make_shared<TaskLineCheck>();
    return jsonl_file_source(
        frame_.context->base_dir / pipeline::template_text(*name),
        [check](std::string_view text, const std::string& path, size_t line) {
          return check->read(text, path, line);
        });
  }
  return make_error(ErrorCode::kInvalidInput, "claude_batch needs tasks or tasks_file");
}

ParallelNode::Settings FanOutNode::settings() {
  Settings s;
  const Value* batch = step_.options.find("batch_config");
  const int64_t configured = step_.type == StepType::kParallelClaude
                                 ? step_.options.get_int("max_parallel", run_.settings().default_max_parallel)
                                 : (batch ? batch->get_int("max_parallel", run_.settings().default_max_parallel)
                                          : run_.settings().default_max_parallel);
  s.max_parallel = static_cast<size_t>(std::max<int64_t>(1, configured));
  return s;
}

namespace {

// A prompt as a list of parts: a string becomes one static part.
Value prompt_parts(const Value& prompt) {
  if (prompt.is_array()) return prompt;
  Value parts = Value::array();
  if (prompt.is_null()) return parts;
  Value part;
  part["type"] = "static";
  part["content"] = prompt;
  parts.push_back(std::move(part));
  return parts;
}

}  // namespace

ParallelNode::Child FanOutNode::make_child(size_t index, size_t, Value task) {
  const std::string id = task.get_string("id", task.get_string("task_id", std::to_string(index)));
  LeafWork work;
  work.step_type = "claude";
  Value input;
  // The step's shared prompt (claude_batch), then the task's, then the task's file.
  const Value* shared = step_.options.find("prompt");
  const Value* own = task.find("prompt");
  const Value* file = task.find("file");
  if (!shared && !(file && file->is_string())) {
    input["prompt"] = own ? *own : Value("");
  } else {
    Value parts = shared ? prompt_parts(*shared) : Value::array();
    Value task_parts = prompt_parts(own ? *own : Value());  // a named local: the loop borrows it
    for (auto& part : task_parts.as_array()) parts.push_back(std::move(part));
    if (file && file->is_string()) {
      Value file_part;
      file_part["type"] = "file";
      file_part["path"] = *file;
      parts.push_back(std::move(file_part));
    }
    input["prompt"] = std::move(parts);
  }
  input["claude_options"] = merged_object(step_.options.find("claude_options"), task.find("claude_options"));
  if (const Value* preset = step_.options.find("preset")) input["preset"] = *preset;
  input["task_id"] = id;
  work.owned_input = std::move(input);
  work.timeout_ms = step_.task_timeout_ms;
  if (const Value* batch = step_.options.find("batch_config")) {
    if (const Value* per_task = batch->find("timeout_per_task"); per_task && per_task->is_int()) {
      work.timeout_ms = per_task->as_int();
    }
  }
  work.extra_scope["task"] = task;
  tasks_[index] = std::move(task);
  return {nullptr, std::make_unique<LeafNode>(run_, this, path() + ".t" + std::to_string(index),
                                              display() + "[" + id + "]", step_, frame_,
                                              std::move(work))};
}

Value FanOutNode::item_value(size_t index, Node&, Value result) {
  Value task = std::move(tasks_[index]);
  tasks_.erase(index);
  result["id"] = task.get_string("id", task.get_string("task_id", std::to_string(index)));
  const std::string output = task.get_string("output_to_file");
  if (!output.empty() && result.get_bool("success")) {
    FrameScope frame_scope(frame_);
    Value overlay;
    overlay["task"] = task;
    OverlayScope scope(overlay, frame_scope);
    auto written = write_step_output(run_.paths().output_dir, output, scope, result);
    if (written.ok()) {
      result["output_file"] = written->string();
    } else {
      result["success"] = false;
      result["error"] = at_step(step_, "task " + result.get_string("id") + ": output_to_file: " +
                                           written.error().message);
    }
  }
  return result;
}

Value FanOutNode::unfinished_item(size_t index) {
  Value entry = ParallelNode::unfinished_item(index);
  if (auto it = tasks_.find(index); it != tasks_.end()) {
    const Value& task = it->second;
    entry["id"] = task.get_string("id", task.get_string("task_id", std::to_string(index)));
  }
  return entry;
}

void FanOutNode::element_finished(size_t index, const Value& entry) {
  if (!consolidation_) return;
  consolidation_->add(index, entry.get_bool("success") ? "## " + entry.get_string("id") + "\n\n" +
                                                             entry.get_string("text") + "\n\n"
                                                       : std::string());
}

void FanOutNode::complete_result(Value& result) {
  if (!consolidation_) return;
  auto done = consolidation_->finish();
  if (!done.ok()) {
    result["success"] = false;
    result["error"] = at_step(step_, "consolidate_results: " + done.error().message);
    result["error_code"] = std::string(error_code_name(done.error().code));
    return;
  }
  if (!done->in_file) {
    result["text"] = std::move(done->text);
    return;
  }
  // Too large for the step result: the text is in a file, which output_to_file (when the
  // step succeeds) moves to where it says.
  result["text_file"] = consolidation_->file().string();
  result["text_bytes"] = static_cast<int64_t>(done->bytes);
}

// ---------------------------------------------------------------------------------------------
// WhileLoopNode

WhileLoopNode::WhileLoopNode(RunExecution& run, Node* parent, std::string path,
                             std::string display, const Step& step, const Frame& frame)
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
  current_ = std::make_unique<SequenceNode>(
      run_, this, path() + ".i" + std::to_string(iteration_),
      display() + "[" + std::to_string(iteration_) + "]", step_.steps, std::move(frame));
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

// ---------------------------------------------------------------------------------------------
// NestedPipelineNode

namespace {

constexpr int64_t kDefaultMaxDepth = 10;

// `path` ("step.a.b") in the child's step results, trying the step result's `data` too.
const Value* output_at(const Value& steps, const std::string& path) {
  const Value* at = &steps;
  size_t pos = 0;
  for (;;) {
    const size_t dot = path.find('.', pos);
    const std::string segment = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    const Value* next = at->is_object() ? at->find(segment) : nullptr;
    if (!next && at->is_object() && at != &steps) {
      if (const Value* data = at->find("data")) next = data->find(segment);
    }
    if (!next) return nullptr;
    at = next;
    if (dot == std::string::npos) return at;
    pos = dot + 1;
  }
}

}  // namespace

NestedPipelineNode::NestedPipelineNode(RunExecution& run, Node* parent, std::string path,
                                       std::string display, const Step& step, const Frame& frame)
    : Node(run, parent, std::move(path), std::move(display)), step_(step), frame_(frame) {}

Result<std::unique_ptr<PipelineContext>> NestedPipelineNode::load_child() {
  const PipelineContext& parent = *frame_.context;
  const Value* config = step_.options.find("config");
  // Levels below the run's own pipeline: its children are at 1.
  const int64_t depth = std::max<int64_t>(1, static_cast<int64_t>(parent.files.size()));
  const int64_t max_depth =
      std::min(parent.max_depth, config ? config->get_int("max_depth", kDefaultMaxDepth) : kDefaultMaxDepth);
  if (depth > max_depth) {
    return make_error(ErrorCode::kInvalidInput, "nesting deeper than max_depth " +
                                                    std::to_string(max_depth) + ": " +
                                                    join(parent.files, " -> "));
  }
  auto child = std::make_unique<PipelineContext>();
  child->max_depth = max_depth;
  child->files = parent.files;
  if (step_.inline_pipeline) {
    child->pipeline = step_.inline_pipeline;
    child->base_dir = parent.base_dir;
    child->files.push_back(parent.files.empty() ? "(inline)" : parent.files.back() + "#" + step_.name);
  } else {
    const std::string file = step_.options.get_string("pipeline_file");
    const std::filesystem::path path = absolute_path(parent.base_dir / file);
    for (const auto& running : parent.files) {
      if (running == path.string()) {
        return make_error(ErrorCode::kInvalidInput, "pipeline cycle: " + join(parent.files, " -> ") +
                                                        " -> " + path.string());
      }
    }
    auto loaded = pipeline::load_pipeline_file(path);
    std::vector<pipeline::Diagnostic> problems = loaded.diagnostics;
    if (loaded.ok()) {
      // A child that inherits the parent's context may name the parent's global_vars and
      // state, which it does not declare itself.
      pipeline::ValidateOptions options{path.parent_path()};
      options.inherits_context = config && config->get_bool("inherit_context", false);
      auto more = pipeline::validate_pipeline(*loaded.pipeline, options);
      problems.insert(problems.end(), more.begin(), more.end());
    }
    if (!loaded.ok() || pipeline::has_errors(problems)) {
      std::vector<std::string> lines;
      for (const auto& d : problems) {
        if (d.severity == pipeline::Severity::kError) lines.push_back(pipeline::format_diagnostic(d));
      }
      return make_error(ErrorCode::kInvalidInput, join(lines, "\n"));
    }
    child->pipeline = std::make_shared<const pipeline::Pipeline>(std::move(*loaded.pipeline));
    child->base_dir = path.parent_path();
    child->files.push_back(path.string());
  }
  FrameScope scope(frame_);
  Value given = Value::object();
  if (const Value* inputs = step_.options.find("inputs")) {
    auto rendered = pipeline::render_value(*inputs, scope);
    if (!rendered.ok()) return std::move(rendered).error().with_context("inputs");
    given = std::move(*rendered);
  }
  auto bound = pipeline::bind_inputs(*child->pipeline, given);
  if (!bound.ok()) return std::move(bound).error().with_context("inputs");
  child->inputs = std::move(*bound);
  if (config && config->get_bool("inherit_context", false)) {
    // The child starts from the parent's state and sees the parent's global_vars under its own.
    child->state = parent.state;
    Value merged = parent.global_vars.is_null() && parent.pipeline ? parent.pipeline->global_vars
                                                                   : parent.global_vars;
    if (!merged.is_object()) merged = Value::object();
    for (const auto& [k, v] : child->pipeline->global_vars.as_object()) merged[k] = v;
    child->global_vars = std::move(merged);
  }
  return child;
}

void NestedPipelineNode::start() {
  auto child = load_child();
  if (!child.ok()) {
    finish(failure_result(at_step(step_, child.error().message), child.error().code));
    return;
  }
  child_context_ = std::move(*child);
  // The step's timeout, or config.timeout_seconds, bounds the whole child pipeline.
  std::optional<int64_t> timeout_ms = step_.timeout_ms;
  if (const Value* config = step_.options.find("config"); config && !timeout_ms) {
    if (const Value* seconds = config->find("timeout_seconds"); seconds && seconds->is_number()) {
      timeout_ms = static_cast<int64_t>(seconds->as_double() * 1000);
    }
  }
  timeout_ms_ = timeout_ms.value_or(0);
  set_step_deadline(run_, *this, timeout_ms);
  auto frame = std::make_unique<Frame>();
  frame->context = child_context_.get();
  child_ = std::make_unique<SequenceNode>(run_, this, path() + ".p", display(),
                                          child_context_->pipeline->steps, std::move(frame));
  child_->start();
}

void NestedPipelineNode::deadline_passed() { finish(timeout_result(step_, timeout_ms_)); }

void NestedPipelineNode::child_done(Node& child, Value result) {
  if (&child != child_.get()) return;
  const Value steps = result.find("steps") ? *result.find("steps") : Value::object();
  Value out;
  out["success"] = result.get_bool("success");
  out["steps"] = steps;
  out["pipeline"] = child_context_->pipeline->name;
  if (!result.get_bool("success")) out["error"] = result.get_string("error");
  // outputs: [name | {path, as}] -> data: {name: value}
  if (const Value* outputs = step_.options.find("outputs"); outputs && outputs->is_array()) {
    Value data = Value::object();
    for (const Value& output : outputs->as_array()) {
      const std::string path = output.is_string() ? output.as_string() : output.get_string("path");
      const std::string as = output.is_string() ? path : output.get_string("as", path);
      const Value* value = output_at(steps, path);
      if (!value) {
        if (result.get_bool("success")) {
          out["success"] = false;
          out["error"] = at_step(step_, "output \"" + path + "\" is not in the child pipeline's results");
        }
        continue;
      }
      data[as] = *value;
    }
    out["data"] = std::move(data);
  }
  child_.reset();
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
