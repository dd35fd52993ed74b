#include "common/pipeline/defaults.h"

#include "common/pipeline/duration.h"

namespace pl::pipeline {
namespace {

bool is_claude_family(StepType type) {
  switch (type) {
    case StepType::kClaude:
    case StepType::kClaudeSession:
    case StepType::kClaudeExtract:
    case StepType::kClaudeRobust:
    case StepType::kClaudeSmart:
    case StepType::kClaudeBatch:
      return true;
    default:
      return false;
  }
}

bool is_gemini_family(StepType type) {
  return type == StepType::kGemini || type == StepType::kGeminiInstructor;
}

// The first of `names` that `defaults` sets.
const Value* first_of(const Value& defaults, std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    if (const Value* v = defaults.find(name)) return v;
  }
  return nullptr;
}

void set_if_absent(Value& options, std::string_view key, const Value* fallback) {
  if (!fallback || !options.is_object() || options.find(key)) return;
  options[key] = *fallback;
}

// Adds the members of `fallback` that `options[key]` lacks (creating the map if needed).
void merge_under(Value& options, std::string_view key, const Value& fallback) {
  if (!fallback.is_object() || !options.is_object()) return;
  Value* target = options.find(key);
  if (target && !target->is_object()) return;  // a template: left alone
  if (!target) {
    if (fallback.size() == 0) return;
    target = &(options[key] = Value::object());
  }
  for (const auto& [name, value] : fallback.as_object()) {
    if (!target->find(name)) (*target)[name] = value;
  }
}

struct Fallbacks {
  std::optional<int64_t> timeout_ms;
  bool continue_on_error = false;
  const Value* provider = nullptr;
  const Value* model = nullptr;
  const Value* gemini_model = nullptr;
  const Value* preset = nullptr;
  Value claude_options = Value::object();
  Value token_budget = Value::object();
};

void apply(const Fallbacks& f, Step& step) {
  if (is_fan_out(step.type)) {
    if (!step.timeout_ms) step.task_timeout_ms = f.timeout_ms;
  } else if (!is_loop(step.type) && step.type != StepType::kPipeline && !step.timeout_ms) {
    step.timeout_ms = f.timeout_ms;
  }
  if (f.continue_on_error && !step.has_key("on_error") && !step.has_key("continue_on_error")) {
    step.on_error = OnError::kContinue;
  }
  Value& options = step.options;
  if (step.type == StepType::kLlm) {
    set_if_absent(options, "provider", f.provider);
    set_if_absent(options, "model", f.model);
  }
  if (is_claude_family(step.type)) merge_under(options, "claude_options", f.claude_options);
  if (step.type == StepType::kParallelClaude) {
    if (Value* tasks = options.find("parallel_tasks"); tasks && tasks->is_array()) {
      for (Value& task : tasks->as_array()) merge_under(task, "claude_options", f.claude_options);
    }
  }
  if (is_gemini_family(step.type)) {
    set_if_absent(options, "model", f.gemini_model);
    merge_under(options, "token_budget", f.token_budget);
  }
  if (step.type == StepType::kClaudeSmart || step.type == StepType::kClaudeExtract ||
      step.type == StepType::kClaudeBatch) {
    set_if_absent(options, "preset", f.preset);
  }
  for (Step& inner : step.steps) apply(f, inner);
}

}  // namespace

void apply_defaults(Pipeline& pipeline) {
  const Value& d = pipeline.defaults;
  if (!d.is_object() || d.size() == 0) return;
  Fallbacks f;
  if (const Value* timeout = d.find("timeout")) {
    if (auto ms = parse_duration_ms(*timeout); ms.ok()) f.timeout_ms = *ms;
  } else if (const Value* seconds = d.find("timeout_seconds");
             seconds && seconds->is_int() && seconds->as_int() >= 1 &&
             seconds->as_int() <= kMaxDurationMs / 1000) {
    f.timeout_ms = seconds->as_int() * 1000;
  }
  f.continue_on_error = d.get_bool("continue_on_error", false);
  f.provider = d.find("provider");
  f.model = d.find("model");
  f.gemini_model = d.find("gemini_model");
  f.preset = first_of(d, {"preset", "claude_preset"});
  if (const Value* options = d.find("claude_options"); options && options->is_object()) {
    f.claude_options = *options;
  }
  if (f.model && !f.claude_options.find("model")) f.claude_options["model"] = *f.model;
  if (const Value* budget = first_of(d, {"token_budget", "gemini_token_budget"});
      budget && budget->is_object()) {
    f.token_budget = *budget;
  }
  for (Step& step : pipeline.steps) apply(f, step);
}

}  // namespace pl::pipeline
