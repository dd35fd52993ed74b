// A `pipeline` step: a child pipeline file run in a frame of its own.
#include "broker/step_node_support.h"
#include "broker/step_nodes.h"
#include "common/fs.h"
#include "common/pipeline/loader.h"
#include "common/pipeline/template.h"
#include "common/pipeline/validate.h"
#include "common/text.h"
#include "worker/data/step_checks.h"

namespace pl::broker {

using pipeline::Step;

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
    const std::string segment =
        path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
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
  const int64_t max_depth = std::min(
      parent.max_depth, config ? config->get_int("max_depth", kDefaultMaxDepth) : kDefaultMaxDepth);
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
    child->files.push_back(parent.files.empty() ? "(inline)"
                                                : parent.files.back() + "#" + step_.name);
  } else {
    const std::string file = step_.options.get_string("pipeline_file");
    const std::filesystem::path path = absolute_path(parent.base_dir / file);
    for (const auto& running : parent.files) {
      if (running == path.string()) {
        return make_error(ErrorCode::kInvalidInput,
                          "pipeline cycle: " + join(parent.files, " -> ") + " -> " + path.string());
      }
    }
    auto loaded = pipeline::load_pipeline_file(path);
    std::vector<pipeline::Diagnostic> problems = loaded.diagnostics;
    if (loaded.ok()) {
      // A child that inherits the parent's context may name the parent's global_vars and
      // state, which it does not declare itself.
      pipeline::ValidateOptions options{path.parent_path()};
      options.inherits_context = config && config->get_bool("inherit_context", false);
      options.check_step_options = worker::data::check_data_step_options;
      auto more = pipeline::validate_pipeline(*loaded.pipeline, options);
      problems.insert(problems.end(), more.begin(), more.end());
    }
    if (!loaded.ok() || pipeline::has_errors(problems)) {
      std::vector<std::string> lines;
      for (const auto& d : problems) {
        if (d.severity == pipeline::Severity::kError)
          lines.push_back(pipeline::format_diagnostic(d));
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
          out["error"] =
              at_step(step_, "output \"" + path + "\" is not in the child pipeline's results");
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

}  // namespace pl::broker
