// parallel_claude and claude_batch: a ParallelNode over tasks, consolidated as they finish.
#include "broker/step_node_support.h"
#include "broker/step_nodes.h"
#include "broker/step_output.h"
#include "broker/task_lines.h"
#include "common/pipeline/template.h"

namespace pl::broker {

using pipeline::Step;
using pipeline::StepType;

namespace {

Value merged_object(const Value* base, const Value* over) {
  Value out = base && base->is_object() ? *base : Value::object();
  if (over && over->is_object()) {
    for (const auto& [k, v] : over->as_object()) out[k] = v;
  }
  return out;
}

}  // namespace

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
  if (pipeline::consolidates_results(step_)) {
    consolidation_ =
        std::make_unique<Consolidation>(consolidated_file(run_.paths().output_dir, this->display()),
                                        run_.settings().max_inline_bytes);
  }
}

Result<std::unique_ptr<ItemSource>> FanOutNode::open_source() {
  const Value& options = step_.options;
  if (step_.type == StepType::kParallelClaude) {
    const Value* tasks = options.find("parallel_tasks");
    if (!tasks || !tasks->is_array())
      return make_error(ErrorCode::kInvalidInput, "parallel_tasks must be a list");
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
    return jsonl_file_source(frame_.context->base_dir / pipeline::template_text(*name),
                             [check](std::string_view text, const std::string& path, size_t line) {
                               return check->read(text, path, line);
                             });
  }
  return make_error(ErrorCode::kInvalidInput, "claude_batch needs tasks or tasks_file");
}

ParallelNode::Settings FanOutNode::settings() {
  Settings s;
  const Value* batch = step_.options.find("batch_config");
  const int64_t configured =
      step_.type == StepType::kParallelClaude
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
  const std::string id = pipeline::task_id(task, index);
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
  input["claude_options"] =
      merged_object(step_.options.find("claude_options"), task.find("claude_options"));
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
  return {nullptr,
          std::make_unique<LeafNode>(run_, this, path() + ".t" + std::to_string(index),
                                     display() + "[" + id + "]", step_, frame_, std::move(work))};
}

Value FanOutNode::item_value(size_t index, Node&, Value result) {
  Value task = std::move(tasks_[index]);
  tasks_.erase(index);
  result["id"] = pipeline::task_id(task, index);
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
      result["error"] = at_step(step_, "task " + result.get_string("id") +
                                           ": output_to_file: " + written.error().message);
    }
  }
  return result;
}

Value FanOutNode::unfinished_item(size_t index) {
  Value entry = ParallelNode::unfinished_item(index);
  if (auto it = tasks_.find(index); it != tasks_.end()) {
    const Value& task = it->second;
    entry["id"] = pipeline::task_id(task, index);
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

}  // namespace pl::broker
