// The pipeline model: what a pipeline file says, after loading and before running.
//
// The loader (loader.h) builds these from YAML and checks their structure; validate.h checks
// what can be known before a run (templates parse, references name earlier steps, files exist).
// Templates inside a Step are kept unrendered: they are evaluated when the step runs (template.h).
// Plain data: copyable, not thread-safe to mutate while shared.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/pipeline/diagnostic.h"
#include "common/value.h"

namespace pl::pipeline {

enum class StepType {
  kClaude,
  kGemini,
  kLlm,
  kParallelClaude,
  kClaudeBatch,
  kClaudeSession,
  kClaudeExtract,
  kClaudeRobust,
  kClaudeSmart,
  kGeminiInstructor,
  kTool,
  kSetVariable,
  kForLoop,
  kWhileLoop,
  kDataTransform,
  kFileOps,
  kPipeline,
  kEcho,
};

// The canonical name ("claude", "for_loop", "echo" for kEcho).
std::string_view step_type_name(StepType type);
// The type a name denotes, accepting aliases ("test_echo" -> kEcho); nullopt for anything else.
std::optional<StepType> step_type_from_name(std::string_view name);
// Every canonical name and alias, for suggestions and documentation.
std::vector<std::string_view> step_type_names();
// Whether a step of this type has a body (`steps`) that runs inside it.
bool is_loop(StepType type);
// parallel_claude and claude_batch: one item per task.
bool is_fan_out(StepType type);

enum class OnError { kFail, kContinue };

enum class Backoff { kFixed, kLinear, kExponential };
std::string_view backoff_name(Backoff backoff);

// How a failed step is retried. retry_on holds error code names as error_code_name() spells
// them ("timeout", "rate_limit", "server_error", ...); empty means every retryable error.
struct RetryPolicy {
  int max_attempts = 1;  // including the first attempt; >= 1
  Backoff backoff = Backoff::kExponential;
  int64_t base_delay_ms = 1000;
  int64_t max_delay_ms = 30000;
  std::vector<std::string> retry_on;
};

struct Pipeline;

struct Step {
  std::string name;
  StepType type = StepType::kEcho;
  std::string type_name;  // as written, e.g. "test_echo"

  // Null when absent; a string ("score > 80" or "{{steps.a.ok}}"), a bool, or an and/or/not
  // structure, unrendered (condition.h). For most steps it decides whether the step runs. For a
  // while_loop it is the loop condition, checked before each iteration.
  Value condition;

  // "" when absent; may contain templates. Relative to the run's output directory.
  std::string output_to_file;

  // From `timeout` (a number of SECONDS, e.g. 30 or 1.5, or a string with a unit: "500ms",
  // "30s", "5m", "1h") or from pipeline_ex's `timeout_seconds`, always stored in milliseconds.
  // nullopt when neither the step nor `defaults` set one: the runner then uses its configured
  // default. For loops and pipeline steps it bounds the whole step, and defaults do not apply.
  std::optional<int64_t> timeout_ms;

  // parallel_claude and claude_batch: each task's timeout from `defaults.timeout` when the step
  // sets no `timeout` (which bounds the whole step, and each task within it). A default meant
  // for one call must not end a batch of a thousand.
  std::optional<int64_t> task_timeout_ms;

  // From `retry`; for claude_robust without `retry`, derived from `retry_config`
  // (max_attempts = max_retries + 1, backoff_strategy, base_delay_ms, retry_conditions).
  std::optional<RetryPolicy> retry;

  // From `on_error` (fail/continue) or pipeline_ex's `continue_on_error: true`.
  OnError on_error = OnError::kFail;

  // Every other key of the step exactly as written (an object), templates unrendered, keys
  // that are accepted but ignored included. A key whose schema kind is string holds a string
  // even when written as a plain number. Loops keep their body in `steps` below, not here.
  Value options = Value::object();

  // The body of a for_loop or while_loop; empty otherwise.
  std::vector<Step> steps;

  // For a `pipeline` step with an inline `pipeline:` map, that child pipeline, loaded and
  // checked like a file (defaults applied); nullptr otherwise. options["pipeline"] keeps the
  // map as written.
  std::shared_ptr<const Pipeline> inline_pipeline;

  // Where the step's mapping starts.
  SourceLocation location;

  // Where each key of the step was written, by path: "prompt", "claude_options.model",
  // "parallel_tasks.0.prompt" (list elements by index). Common keys (name, type, condition, ...)
  // are included; the loop body is not.
  std::map<std::string, SourceLocation, std::less<>> key_locations;

  // The location of a key (or dotted path, as in key_locations); falls back to the location of
  // the nearest enclosing path that is known, then to `location`.
  SourceLocation location_of(std::string_view key) const;
  // Whether the step wrote this key (or path).
  bool has_key(std::string_view key) const;
};

// A claude_batch step whose batch_config sets consolidate_results: its result has the tasks'
// texts (`text`, or `text_file` once they outgrow a result).
bool consolidates_results(const Step& step);
// The id of a fan-out's task number `index` (from 0): its `id`, else its `task_id`, else the
// index itself.
std::string task_id(const Value& task, size_t index);

struct InputSpec {
  std::string name;
  // "string", "number", "integer", "bool", "list", "map", or "" for any. The aliases
  // "boolean", "array" and "object" are stored as bool, list and map. Without `type`, the type
  // of the default (inputs.h: input_type_of_default).
  std::string type;
  Value default_value;  // null when absent
  bool required = false;
  std::vector<Value> allowed;  // from `enum`; empty when any value of the type is allowed
  SourceLocation where;
};

struct Pipeline {
  std::string name, description;
  std::vector<Step> steps;
  std::vector<InputSpec> inputs;
  bool inputs_declared =
      false;  // whether the file has an `inputs:` key (references are then checked)
  Value global_vars = Value::object();
  Value defaults = Value::object();
  std::string workspace_dir = "./workspace", output_dir = "./outputs";  // as written
  Value gemini_functions = Value::object();
  std::string file;         // display name or path it was loaded from
  SourceLocation location;  // of the `workflow` map
};

}  // namespace pl::pipeline
