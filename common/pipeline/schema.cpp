// The key tables of the pipeline format. Ordered so that every table is defined before a table
// that nests it.
#include "common/pipeline/schema.h"

#include <array>

#include "common/config/llm_provider.h"
#include "common/pipeline/duration.h"

namespace pl::pipeline {
namespace {

using K = KeyKind;

// One row per key reads best: keep the formatter from packing the tables.
// clang-format off

// ---------------------------------------------------------------------------------------------
// Allowed values.

constexpr std::string_view kBackoffs[] = {"fixed", "linear", "exponential"};
constexpr std::string_view kOnError[] = {"fail", "continue"};
// error_code_name() spellings of the errors a retry can be asked for.
constexpr std::string_view kRetryOn[] = {"timeout",      "rate_limit",   "server_error",
                                         "unavailable",  "circuit_open", "retry_later",
                                         "io",           "step_failed",  "conflict"};
constexpr std::string_view kRetryConditions[] = {"timeout",      "rate_limit",    "api_error",
                                                 "server_error", "network_error", "unavailable"};
constexpr std::string_view kFallbackActions[] = {"simplified_prompt", "mock_response", "skip",
                                                 "fail"};
constexpr std::string_view kPresets[] = {"development", "production", "analysis", "chat", "test"};
constexpr std::string_view kExtractFormats[] = {"text", "json", "markdown", "summary"};
constexpr std::string_view kPostProcessing[] = {
    "extract_code_blocks", "extract_links",    "extract_recommendations",
    "extract_key_points",  "extract_entities", "extract_errors"};
constexpr std::string_view kVariableScopes[] = {"global", "loop"};
constexpr std::string_view kTransformOps[] = {"filter", "map",      "aggregate",
                                              "join",   "group_by", "sort"};
constexpr std::string_view kAggregateFunctions[] = {"sum", "average", "min",
                                                    "max", "count",   "count_distinct"};
constexpr std::string_view kSortOrders[] = {"asc", "desc"};
constexpr std::string_view kJoinTypes[] = {"inner", "left"};
constexpr std::string_view kFileOperations[] = {"copy", "move",     "delete",
                                                "list", "validate", "convert"};
constexpr std::string_view kConversions[] = {"csv_to_json", "json_to_csv"};
constexpr std::string_view kInputTypes[] = {"string", "number", "integer", "bool",  "list",
                                            "map",    "any",    "boolean", "array", "object"};

// ---------------------------------------------------------------------------------------------
// Notes for keys we accept but ignore.

constexpr std::string_view kAgentNote =
    "Claude agent options are not supported (calls go to the Messages API)";
constexpr std::string_view kUseStepTimeout = "use the step's `timeout`";
constexpr std::string_view kUseStepRetry = "use the step's `retry`";
constexpr std::string_view kNotSupported = "not supported by this system";

// ---------------------------------------------------------------------------------------------
// Nested option maps.

constexpr KeySpec kRetryKeys[] = {
    key("max_attempts", K::kInt).required().literal().at_least(1),
    key("backoff", K::kString).literal().one_of(kBackoffs),
    key("base_delay_ms", K::kInt).literal().at_least(0).at_most(kMaxDurationMs),
    key("max_delay_ms", K::kInt).literal().at_least(0).at_most(kMaxDurationMs),
    key("retry_on", K::kStringList).literal().one_of(kRetryOn),
};
constexpr KeyTable kRetry{"retry", kRetryKeys};

constexpr KeySpec kClaudeOptionKeys[] = {
    key("model", K::kString),
    key("system_prompt", K::kString),
    key("append_system_prompt", K::kString),  // after system_prompt (a preset's, too)
    key("max_turns", K::kInt).at_least(1),
    key("allowed_tools", K::kStringList),
    key("max_tokens", K::kInt).at_least(1),
    key("temperature", K::kNumber),
    ignored("mcp_servers", kAgentNote),
    ignored("mcp_config", kAgentNote),
    ignored("print", kAgentNote),
    ignored("hooks", kAgentNote),
    ignored("agents", kAgentNote),
    ignored("permission_mode", kAgentNote),
    ignored("permission_prompt_tool", kAgentNote),
    ignored("disallowed_tools", "only `allowed_tools` are offered to the model"),
    ignored("cwd", kAgentNote),
    ignored("add_dir", kAgentNote),
    ignored("output_format", kAgentNote),
    ignored("verbose", kAgentNote),
    ignored("session_id", "use a claude_session step"),
    ignored("resume_session", "use a claude_session step"),
    ignored("continue_conversation", "use a claude_session step"),
    ignored("debug_mode", kAgentNote),
    ignored("telemetry_enabled", "usage is always recorded in the step result"),
    ignored("cost_tracking", "usage is always recorded in the step result"),
    ignored("retry_config", kUseStepRetry),
    ignored("timeout_ms", kUseStepTimeout),
    ignored("async_streaming", kAgentNote),
    ignored("stream_handler", kAgentNote),
    ignored("stream_buffer_size", kAgentNote),
    ignored("max_thinking_tokens", kAgentNote),
    ignored("fallback_model", kAgentNote),
    ignored("strict_mcp_config", kAgentNote),
    ignored("settings", kAgentNote),
};
constexpr KeyTable kClaudeOptions{"claude_options", kClaudeOptionKeys};

constexpr KeySpec kTokenBudgetKeys[] = {
    key("max_output_tokens", K::kInt).at_least(1),
    key("temperature", K::kNumber),
    key("top_p", K::kNumber),
    key("top_k", K::kInt).at_least(1),
};
constexpr KeyTable kTokenBudget{"token_budget", kTokenBudgetKeys};

// Prompt parts. `type` is in every table so that it is a known key.
constexpr std::string_view kPartConditionNote =
    "conditional prompt parts are not supported (the part is always included)";
constexpr KeySpec kStaticPartKeys[] = {
    key("type", K::kString).required(),
    key("content", K::kAny).required(),  // not a string: written as pretty JSON
    ignored("condition", kPartConditionNote),
};
constexpr KeySpec kFilePartKeys[] = {
    key("type", K::kString).required(),
    key("path", K::kString).required().non_empty(),
    ignored("variables", "use {{ }} templates in the file's path or the prompt's other parts"),
    ignored("inject_as", kNotSupported),
    ignored("encoding", "files are read as UTF-8"),
    ignored("summary", kNotSupported),
    ignored("max_summary_length", kNotSupported),
    ignored("summary_focus", kNotSupported),
    ignored("transform", kNotSupported),
    ignored("component", kNotSupported),
    ignored("condition", kPartConditionNote),
};
constexpr KeySpec kPreviousResponsePartKeys[] = {
    key("type", K::kString).required(),
    key("step", K::kString).required().non_empty(),
    key("extract", K::kString),
    ignored("extract_with", kNotSupported),
    ignored("summary", kNotSupported),
    ignored("max_length", kNotSupported),
    ignored("format", kNotSupported),
    ignored("post_processing", kNotSupported),
    ignored("include_metadata", kNotSupported),
    ignored("inject_as", kNotSupported),
    ignored("summary_style", kNotSupported),
    ignored("transform", kNotSupported),
    ignored("condition", kPartConditionNote),
};
constexpr KeySpec kSessionContextPartKeys[] = {
    key("type", K::kString).required(),
    key("session_name", K::kString).non_empty(),
    key("session_id", K::kString).non_empty(),  // pipeline_ex's spelling of session_name
    key("turns", K::kInt).at_least(1),
    key("include_last_n", K::kInt).at_least(1),  // pipeline_ex's spelling of turns
    ignored("filter", kNotSupported),
    ignored("condition", kPartConditionNote),
};
constexpr KeyTable kStaticPart{"a static prompt part", kStaticPartKeys};
constexpr KeyTable kFilePart{"a file prompt part", kFilePartKeys};
constexpr KeyTable kPreviousResponsePart{"a previous_response prompt part",
                                         kPreviousResponsePartKeys};
constexpr KeyTable kSessionContextPart{"a session_context prompt part", kSessionContextPartKeys};

constexpr KeySpec kParallelTaskKeys[] = {
    key("id", K::kString).required().literal().non_empty(),
    key("prompt", K::kPrompt).required(),
    key("claude_options", K::kMap).literal().with(&kClaudeOptions),
    key("output_to_file", K::kString),
    ignored("condition", "per-task conditions are not supported; put the condition on the step"),
};
constexpr KeyTable kParallelTask{"a parallel_tasks entry", kParallelTaskKeys};

constexpr KeySpec kBatchTaskKeys[] = {
    key("task_id", K::kString).literal().non_empty(),
    key("id", K::kString).literal().non_empty(),  // pipeline_ex's spelling of task_id
    key("prompt", K::kPrompt).required(),
    key("file", K::kString),
    key("output_to_file", K::kString),
    key("claude_options", K::kMap).literal().with(&kClaudeOptions),
};
constexpr KeyTable kBatchTask{"a tasks entry", kBatchTaskKeys};

constexpr KeySpec kBatchConfigKeys[] = {
    key("max_parallel", K::kInt).literal().at_least(1),
    key("timeout_per_task", K::kInt).literal().at_least(1).at_most(kMaxDurationMs),  // milliseconds
    key("consolidate_results", K::kBool).literal(),
};
constexpr KeyTable kBatchConfig{"batch_config", kBatchConfigKeys};

constexpr KeySpec kSessionConfigKeys[] = {
    key("session_name", K::kString).required().non_empty(),
    key("persist", K::kBool),
    key("max_turns", K::kInt).at_least(1),
    key("history_bytes", K::kInt).at_least(1),
    key("description", K::kString),
    ignored("continue_on_restart", "sessions are always kept durably in the registry"),
    ignored("checkpoint_frequency", "sessions are saved after every turn"),
};
constexpr KeyTable kSessionConfig{"session_config", kSessionConfigKeys};

constexpr KeySpec kExtractionConfigKeys[] = {
    key("format", K::kString).one_of(kExtractFormats),
    key("post_processing", K::kStringList).one_of(kPostProcessing),
    key("max_summary_length", K::kInt).at_least(1),
    key("include_metadata", K::kBool),
    ignored("use_content_extractor", "the built-in extractor is always used"),
};
constexpr KeyTable kExtractionConfig{"extraction_config", kExtractionConfigKeys};

constexpr KeySpec kRetryConfigKeys[] = {
    key("max_retries", K::kInt).literal().at_least(0),
    key("backoff_strategy", K::kString).literal().one_of(kBackoffs),
    key("base_delay_ms", K::kInt).literal().at_least(0).at_most(kMaxDurationMs),
    key("max_delay_ms", K::kInt).literal().at_least(0).at_most(kMaxDurationMs),
    key("retry_conditions", K::kStringList).literal().one_of(kRetryConditions),
    key("fallback_action", K::kString).one_of(kFallbackActions),
};
constexpr KeyTable kRetryConfig{"retry_config", kRetryConfigKeys};

constexpr KeySpec kTransformOperationKeys[] = {
    key("operation", K::kString).required().one_of(kTransformOps),
    key("field", K::kStringOrList),
    key("condition", K::kString),
    key("expression", K::kString),
    key("function", K::kString).one_of(kAggregateFunctions),
    key("by", K::kStringOrList),
    key("order", K::kString).one_of(kSortOrders),
    key("group_by", K::kString).non_empty(),
    key("join_key", K::kString).non_empty(),
    key("left_field", K::kString).non_empty(),
    key("right_source", K::kAny),
    key("join_type", K::kString).one_of(kJoinTypes),
    key("as", K::kString).non_empty(),
    key("mapping", K::kMap),
};
constexpr KeyTable kTransformOperation{"an operations entry", kTransformOperationKeys};

constexpr KeySpec kFileCheckKeys[] = {
    key("path", K::kString).required().non_empty(),
    key("must_exist", K::kBool),
    key("must_be_dir", K::kBool),
    key("min_size", K::kInt).at_least(0),
    key("max_size", K::kInt).at_least(0),
};
constexpr KeyTable kFileCheck{"a files entry", kFileCheckKeys};

constexpr KeySpec kPipelineOutputKeys[] = {
    key("path", K::kString).required().literal().non_empty(),
    key("as", K::kString).required().literal().non_empty(),
};
constexpr KeyTable kPipelineOutput{"an outputs entry", kPipelineOutputKeys};

constexpr std::string_view kChildConfigNote = "not supported for child pipelines";
constexpr KeySpec kPipelineConfigKeys[] = {
    key("max_depth", K::kInt).literal().at_least(1),
    key("timeout_seconds", K::kInt).literal().at_least(1).at_most(kMaxDurationMs / 1000),
    key("inherit_context", K::kBool).literal(),
    ignored("inherit_providers", "providers come from the configuration"),
    ignored("inherit_functions", kChildConfigNote),
    ignored("workspace_dir", kChildConfigNote),
    ignored("checkpoint_enabled", "run state is always durable"),
    ignored("checkpoint_frequency", "run state is saved after every step"),
    ignored("checkpoint_dir", "run state lives in the broker's store"),
    ignored("max_retries", "use the step's `retry`"),
    ignored("retry_on", "use the step's `retry`"),
    ignored("continue_on_error", "use the step's `on_error`"),
    ignored("capture_errors", "errors are always in the step result"),
    ignored("fallback_value", kChildConfigNote),
    ignored("memory_limit_mb", kChildConfigNote),
    ignored("max_total_steps", kChildConfigNote),
    ignored("enable_tracing", kChildConfigNote),
    ignored("trace_metadata", kChildConfigNote),
    ignored("cache_enabled", kChildConfigNote),
    ignored("cache_pipeline", kChildConfigNote),
    ignored("cache_ttl", kChildConfigNote),
    ignored("lazy_load", kChildConfigNote),
    ignored("cleanup_on_success", kChildConfigNote),
    ignored("cleanup_on_error", kChildConfigNote),
    ignored("reuse_workspace", kChildConfigNote),
    ignored("pool_size", kChildConfigNote),
};
constexpr KeyTable kPipelineConfig{"config", kPipelineConfigKeys};

constexpr std::string_view kInputValueHint =
    "an input's default and enum are used as written, never rendered";
constexpr KeySpec kInputKeys[] = {
    key("type", K::kString).literal().one_of(kInputTypes),
    key("default", K::kAny).verbatim(kInputValueHint),
    key("required", K::kBool).literal(),
    key("description", K::kString),
    key("enum", K::kList).verbatim(kInputValueHint),
};
constexpr KeyTable kInput{"an input", kInputKeys};

constexpr std::string_view kFunctionHint =
    "gemini_functions are sent to the model as written, never rendered";
constexpr KeySpec kFunctionKeys[] = {
    key("description", K::kString).verbatim(kFunctionHint),
    key("parameters", K::kMap).verbatim(kFunctionHint),
};
constexpr KeyTable kFunction{"a gemini function", kFunctionKeys};

constexpr KeySpec kDefaultsKeys[] = {
    key("provider", K::kString).one_of(kLlmProviderNames),
    key("model", K::kString),
    key("claude_options", K::kMap).literal().with(&kClaudeOptions),
    key("gemini_model", K::kString),
    key("token_budget", K::kMap).literal().with(&kTokenBudget),
    key("timeout", K::kDuration).literal(),
    key("output_dir", K::kString).literal(),
    key("preset", K::kString).one_of(kPresets),
    // pipeline_ex's spellings, honoured as the keys above.
    key("timeout_seconds", K::kInt).literal().at_least(1).at_most(kMaxDurationMs / 1000),
    key("gemini_token_budget", K::kMap).literal().with(&kTokenBudget),
    key("claude_preset", K::kString).one_of(kPresets),
    key("continue_on_error", K::kBool).literal(),
    ignored("claude_output_format", kAgentNote),
    ignored("retry_on_error", "use `retry` on the steps"),
};
constexpr KeyTable kDefaults{"defaults", kDefaultsKeys};

// ---------------------------------------------------------------------------------------------
// The workflow.

constexpr KeySpec kWorkflowKeys[] = {
    key("name", K::kString).required().literal().non_empty(),
    key("description", K::kString),
    key("steps", K::kSteps).required(),
    key("inputs", K::kMapOfMaps).with(&kInput),
    key("global_vars", K::kMap).verbatim(
        "global_vars are never rendered; compute a value from inputs or steps with a "
        "set_variable step and read it as state.NAME"),
    key("defaults", K::kMap).literal().with(&kDefaults),
    key("workspace_dir", K::kString).literal(),
    key("output_dir", K::kString).literal(),
    key("gemini_functions", K::kMapOfMaps).with(&kFunction),
    ignored("checkpoint_enabled", "run state is always durable"),
    ignored("checkpoint_dir", "run state lives in the broker's store"),
    ignored("version", "the format has no versions"),
    ignored("environment", "the environment comes from the configuration"),
    ignored("claude_auth", "provider credentials come from the configuration"),
    ignored("resource_limits", "limits come from the configuration"),
    ignored("safety", "file operations are always confined to the workspace"),
    ignored("variables", "use `global_vars`"),
};
constexpr KeyTable kWorkflow{"workflow", kWorkflowKeys};

constexpr KeySpec kRootKeys[] = {
    key("workflow", K::kMap).required().literal(),
};
constexpr KeyTable kRoot{"the file", kRootKeys};

// ---------------------------------------------------------------------------------------------
// Steps.

constexpr KeySpec kCommonStepKeys[] = {
    key("name", K::kString).required().literal().non_empty(),
    key("type", K::kString).required(),
    key("description", K::kString),
    key("condition", K::kCondition),
    key("output_to_file", K::kString),
    key("timeout", K::kDuration).literal(),
    key("timeout_seconds", K::kInt).literal().at_least(1).at_most(kMaxDurationMs / 1000),  // pipeline_ex's spelling
    key("retry", K::kMap).literal().with(&kRetry),
    key("on_error", K::kString).literal().one_of(kOnError),
    key("continue_on_error", K::kBool).literal(),  // pipeline_ex's spelling of on_error: continue
    ignored("role", "it only documents the step's purpose"),
    ignored("output_schema", "results are not validated against a schema"),
    ignored("error_output", "errors are always in the step result"),
};
constexpr KeyTable kCommonStep{"a step", kCommonStepKeys};

constexpr KeySpec kClaudeKeys[] = {
    key("prompt", K::kPrompt).required(),
    key("claude_options", K::kMap).with(&kClaudeOptions),
};
constexpr KeySpec kGeminiKeys[] = {
    key("prompt", K::kPrompt).required(),
    key("model", K::kString),
    key("token_budget", K::kMap).with(&kTokenBudget),
    key("functions", K::kStringList),
};
constexpr KeySpec kLlmKeys[] = {
    key("prompt", K::kPrompt).required(),
    key("provider", K::kString).one_of(kLlmProviderNames),
    key("model", K::kString),
    key("system_prompt", K::kString),
    key("max_tokens", K::kInt).at_least(1),
    key("temperature", K::kNumber),
    key("top_p", K::kNumber),
    key("max_turns", K::kInt).at_least(1),
    key("allowed_tools", K::kStringList),
};
constexpr KeySpec kParallelClaudeKeys[] = {
    key("parallel_tasks", K::kList).required().literal().with(&kParallelTask),
    key("max_parallel", K::kInt).literal().at_least(1),
};
constexpr KeySpec kClaudeBatchKeys[] = {
    key("tasks", K::kList).literal().with(&kBatchTask),
    key("tasks_file", K::kString).non_empty(),
    key("batch_config", K::kMap).literal().with(&kBatchConfig),
    key("claude_options", K::kMap).literal().with(&kClaudeOptions),  // under every task's
    key("prompt", K::kPrompt),                              // put before every task's prompt
    key("preset", K::kString).one_of(kPresets),
};
constexpr KeySpec kClaudeSessionKeys[] = {
    key("prompt", K::kPrompt).required(),
    key("claude_options", K::kMap).with(&kClaudeOptions),
    key("session_config", K::kMap).required().with(&kSessionConfig),
};
constexpr KeySpec kClaudeExtractKeys[] = {
    key("prompt", K::kPrompt).required(),
    key("claude_options", K::kMap).with(&kClaudeOptions),
    key("preset", K::kString).one_of(kPresets),
    key("extraction_config", K::kMap).with(&kExtractionConfig),
};
constexpr KeySpec kClaudeRobustKeys[] = {
    key("prompt", K::kPrompt).required(),
    key("claude_options", K::kMap).with(&kClaudeOptions),
    key("retry_config", K::kMap).literal().with(&kRetryConfig),
};
constexpr KeySpec kClaudeSmartKeys[] = {
    key("prompt", K::kPrompt).required(),
    key("claude_options", K::kMap).with(&kClaudeOptions),
    key("preset", K::kString).one_of(kPresets),
    ignored("environment_aware", "presets do not depend on the environment"),
};
constexpr KeySpec kGeminiInstructorKeys[] = {
    key("prompt", K::kPrompt).required(),
    key("model", K::kString),
    key("token_budget", K::kMap).with(&kTokenBudget),
    key("functions", K::kStringList),
    key("schema", K::kMap),
    ignored("validation_mode", "output is always checked strictly"),
};
constexpr KeySpec kToolKeys[] = {
    key("tool", K::kString).required().non_empty(),
    key("args", K::kMap),
};
constexpr KeySpec kSetVariableKeys[] = {
    key("variables", K::kMap).required(),
    key("scope", K::kString).literal().one_of(kVariableScopes),
};
constexpr KeySpec kForLoopKeys[] = {
    key("iterator", K::kString).required().literal(),
    key("data_source", K::kAny),
    key("items", K::kList),
    key("items_file", K::kString).non_empty(),
    key("parallel", K::kBool).literal(),
    key("max_parallel", K::kInt).literal().at_least(1),
    key("break_on_error", K::kBool).literal(),
    key("break_condition", K::kCondition),
    key("max_iterations", K::kInt).literal().at_least(1),
    key("steps", K::kSteps).required(),
    ignored("ordered_results", "results are always in item order"),
};
constexpr KeySpec kWhileLoopKeys[] = {
    key("condition", K::kCondition).required(),
    key("max_iterations", K::kInt).required().literal().at_least(1),
    key("break_on_error", K::kBool).literal(),
    key("steps", K::kSteps).required(),
};
constexpr KeySpec kDataTransformKeys[] = {
    key("input_source", K::kAny).required(),
    key("operations", K::kList).required().literal().with(&kTransformOperation),
    key("output_field", K::kString).non_empty(),
};
constexpr KeySpec kFileOpsKeys[] = {
    key("operation", K::kString).required().one_of(kFileOperations),
    key("source", K::kStringOrList),
    key("destination", K::kString).non_empty(),
    key("path", K::kString).non_empty(),
    key("files", K::kListOfStringsOrMaps).with(&kFileCheck),
    key("format", K::kString).one_of(kConversions),
    key("pattern", K::kString),
    key("recursive", K::kBool),
};
constexpr KeySpec kPipelineKeys[] = {
    key("pipeline_file", K::kString).literal().non_empty(),
    key("pipeline", K::kPipeline),
    key("inputs", K::kMap),
    key("outputs", K::kListOfStringsOrMaps).literal().with(&kPipelineOutput),
    key("config", K::kMap).literal().with(&kPipelineConfig),
    ignored("pipeline_ref", "the pipeline registry is not supported; use `pipeline_file`"),
};
constexpr KeySpec kEchoKeys[] = {
    key("value", K::kAny),
    key("fail", K::kBool),
    key("error_message", K::kString),
    key("delay_ms", K::kInt).at_least(0).at_most(kMaxDurationMs),
};

struct StepTable {
  StepType type;
  KeyTable table;
};

constexpr std::array<StepTable, 18> kStepTables{{
    {StepType::kClaude, {"claude step", kClaudeKeys}},
    {StepType::kGemini, {"gemini step", kGeminiKeys}},
    {StepType::kLlm, {"llm step", kLlmKeys}},
    {StepType::kParallelClaude, {"parallel_claude step", kParallelClaudeKeys}},
    {StepType::kClaudeBatch, {"claude_batch step", kClaudeBatchKeys}},
    {StepType::kClaudeSession, {"claude_session step", kClaudeSessionKeys}},
    {StepType::kClaudeExtract, {"claude_extract step", kClaudeExtractKeys}},
    {StepType::kClaudeRobust, {"claude_robust step", kClaudeRobustKeys}},
    {StepType::kClaudeSmart, {"claude_smart step", kClaudeSmartKeys}},
    {StepType::kGeminiInstructor, {"gemini_instructor step", kGeminiInstructorKeys}},
    {StepType::kTool, {"tool step", kToolKeys}},
    {StepType::kSetVariable, {"set_variable step", kSetVariableKeys}},
    {StepType::kForLoop, {"for_loop step", kForLoopKeys}},
    {StepType::kWhileLoop, {"while_loop step", kWhileLoopKeys}},
    {StepType::kDataTransform, {"data_transform step", kDataTransformKeys}},
    {StepType::kFileOps, {"file_ops step", kFileOpsKeys}},
    {StepType::kPipeline, {"pipeline step", kPipelineKeys}},
    {StepType::kEcho, {"echo step", kEchoKeys}},
}};

struct PartTable {
  std::string_view type;
  const KeyTable* table;
};
constexpr PartTable kPartTables[] = {
    {"static", &kStaticPart},
    {"file", &kFilePart},
    {"previous_response", &kPreviousResponsePart},
    {"session_context", &kSessionContextPart},
};

struct Unsupported {
  std::string_view name;
  std::string_view note;
};
constexpr Unsupported kUnsupportedStepTypes[] = {
    {"switch", "use steps with conditions instead"},
    {"codebase_query", "use a tool step"},
    {"checkpoint", "run state is saved after every step"},
};
constexpr Unsupported kUnsupportedPromptParts[] = {
    {"claude_continue", "use a claude_session step"},
};

// clang-format on

}  // namespace

std::string_view key_kind_phrase(KeyKind kind) {
  switch (kind) {
    case K::kAny:
      return "a value";
    case K::kString:
      return "a string";
    case K::kInt:
      return "an integer";
    case K::kNumber:
      return "a number";
    case K::kBool:
      return "true or false";
    case K::kList:
      return "a list";
    case K::kMap:
      return "a map";
    case K::kStringList:
      return "a list of strings";
    case K::kStringOrList:
      return "a string or a list";
    case K::kCondition:
      return "a condition (a string, a list, or an and/or/not map)";
    case K::kPrompt:
      return "a prompt (a string or a list of parts)";
    case K::kSteps:
      return "a list of steps";
    case K::kDuration:
      return "a duration";
    case K::kMapOfMaps:
      return "a map of maps";
    case K::kListOfStringsOrMaps:
      return "a list of strings or maps";
    case K::kPipeline:
      return "a pipeline (a map with name and steps)";
  }
  return "a value";
}

const KeySpec* KeyTable::find(std::string_view name) const {
  for (const KeySpec& spec : keys) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::vector<std::string_view> KeyTable::names() const {
  std::vector<std::string_view> out;
  for (const KeySpec& spec : keys) out.push_back(spec.name);
  return out;
}

const KeyTable& root_keys() { return kRoot; }
const KeyTable& workflow_keys() { return kWorkflow; }
const KeyTable& common_step_keys() { return kCommonStep; }

const KeyTable& step_keys(StepType type) {
  for (const auto& entry : kStepTables) {
    if (entry.type == type) return entry.table;
  }
  return kStepTables.back().table;  // unreachable: every type has a table
}

const KeyTable* prompt_part_keys(std::string_view part_type) {
  for (const auto& entry : kPartTables) {
    if (entry.type == part_type) return entry.table;
  }
  return nullptr;
}

std::vector<std::string_view> prompt_part_types() {
  std::vector<std::string_view> out;
  for (const auto& entry : kPartTables) out.push_back(entry.type);
  return out;
}

std::optional<std::string_view> unsupported_step_type_note(std::string_view type_name) {
  for (const auto& entry : kUnsupportedStepTypes) {
    if (entry.name == type_name) return entry.note;
  }
  return std::nullopt;
}

std::optional<std::string_view> unsupported_prompt_part_note(std::string_view part_type) {
  for (const auto& entry : kUnsupportedPromptParts) {
    if (entry.name == part_type) return entry.note;
  }
  return std::nullopt;
}

std::span<const std::string_view> input_type_names() { return kInputTypes; }

}  // namespace pl::pipeline
