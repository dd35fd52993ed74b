// A tool: what the registry stores and what a worker runs.
//
// The definition's text form (YAML or JSON file, and the `definition` of tool.register):
//
//   name: word_count                       # [A-Za-z][A-Za-z0-9_-]{0,63}, as LLM APIs want
//   description: Counts the words of a text
//   input_schema: {type: object, properties: {...}, required: [...]}   # json_schema.h subset
//   command: [wc, -w]                       # argv; elements may hold {{args.x}}; [0] is literal
//   stdin: "{{args.text}}"                 # optional; fed to the tool's standard input
//   cwd: "."                               # optional; inside the run's workspace; may hold {{args.x}}
//   timeout_ms: 5000                       # 1 .. 3 600 000; default 30 000
//   env_allow: [LANG]                      # variables passed on from the worker's environment
//   env: {LC_ALL: C}                       # fixed variables, set after the allowed ones
//   limits: {cpu_seconds: 5, memory_mb: 256, open_files: 64}
//   max_output_bytes: 1048576              # stdout bound; a tool that writes more is killed
//
// Reading checks everything a registry or a worker relies on, so that a stored definition is
// always runnable: unknown keys, kinds, ranges, a valid schema of type object, templates that
// name properties of the schema. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/value.h"

namespace pl {

// The string format that marks a path argument: it must resolve inside the run's workspace
// (relative to the tool's cwd; worker/tool_invocation.h). The only format a tool's schema may
// name: any other would check nothing while looking as if it did.
inline constexpr std::string_view kWorkspacePathFormat = "workspace_path";

struct ToolLimits {
  int64_t cpu_seconds = 0;   // RLIMIT_CPU; 0 = the timeout rounded up to seconds, plus one
  int64_t memory_mb = 1024;  // RLIMIT_AS
  int64_t open_files = 256;  // RLIMIT_NOFILE
};

struct ToolDefinition {
  std::string name;
  std::string description;
  Value input_schema;                // an object schema; {"type": "object"} when not given
  std::vector<std::string> command;  // argv templates; command[0] has no reference
  std::optional<std::string> stdin_template;
  std::string cwd = ".";
  int64_t timeout_ms = 30000;
  std::vector<std::string> env_allow;
  std::map<std::string, std::string> env;
  ToolLimits limits;
  int64_t max_output_bytes = 1024 * 1024;

  // The CPU limit in effect: limits.cpu_seconds, or the timeout rounded up plus one second.
  int64_t effective_cpu_seconds() const;
};

// Where a JSON pointer ("/limits/memory_mb") of the definition is, for messages: a file's
// "path:line:column", or "" when there is no file. `key` asks for the key's position rather
// than the value's.
using DefinitionLocator = std::function<std::string(std::string_view pointer, bool key)>;

// Reads and checks a definition. kInvalidInput lists every problem, one per line, each as
// "[location: ]field: what" with fields dotted from `root` ("definition.limits.memory_mb: ...").
Result<ToolDefinition> tool_definition_from_value(const Value& v, std::string_view root = "definition",
                                                  const DefinitionLocator& locate = {});

// The canonical form: every field written out, defaults included.
Value to_value(const ToolDefinition& d);

// Whether `name` is a valid tool name.
bool is_valid_tool_name(std::string_view name);

}  // namespace pl
