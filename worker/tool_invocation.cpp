#include "worker/tool_invocation.h"

#include <unistd.h>

#include <algorithm>
#include <map>

#include "common/registry/arg_template.h"
#include "common/registry/json_schema.h"
#include "worker/workspace_path.h"

extern char** environ;

namespace pl::worker {
namespace fs = std::filesystem;

namespace {

std::string variable_name(const std::string& entry) { return entry.substr(0, entry.find('=')); }

std::vector<std::string> tool_environment(const ToolDefinition& tool,
                                          const std::vector<std::string>& environment) {
  std::map<std::string, std::string> chosen;
  for (const auto& entry : environment) {
    const std::string name = variable_name(entry);
    if (std::find(tool.env_allow.begin(), tool.env_allow.end(), name) != tool.env_allow.end()) {
      chosen[name] = entry;
    }
  }
  for (const auto& [name, value] : tool.env) chosen[name] = name + "=" + value;
  std::vector<std::string> out;
  for (auto& [_, entry] : chosen) out.push_back(std::move(entry));
  return out;
}

std::string path_variable(const std::vector<std::string>& environment) {
  for (const auto& entry : environment) {
    if (entry.rfind("PATH=", 0) == 0) return entry.substr(5);
  }
  return "/usr/local/bin:/usr/bin:/bin";
}

Result<fs::path> resolve_cwd(const ToolDefinition& tool, const Value& args, const fs::path& workspace) {
  auto rendered = render_arg_template(tool.cwd, args);
  if (!rendered.ok()) return rendered.error().with_context("cwd");
  auto cwd = resolve_in_workspace(workspace, workspace, *rendered);
  if (!cwd.ok()) return cwd.error().with_context("cwd");
  std::error_code ec;
  if (!fs::is_directory(*cwd, ec)) {
    return make_error(ErrorCode::kInvalidInput, "cwd \"" + *rendered + "\" is not a directory in the run's workspace");
  }
  return cwd;
}

}  // namespace

std::vector<std::string> current_environment() {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) out.emplace_back(*e);
  return out;
}

Result<ChildSpec> prepare_tool_run(const ToolDefinition& tool, const Value& args_in,
                                   const fs::path& workspace, const std::vector<std::string>& environment) {
  const Value validated =
      apply_schema_defaults(tool.input_schema, args_in.is_null() ? Value::object() : args_in);
  if (auto st = validate_against_schema(tool.input_schema, validated, "args"); !st.ok()) {
    return st.error();
  }

  // From here on the arguments are spelled as the schema means them: an integer given as 3.0
  // reaches argv as "3", an enum member as the schema lists it.
  auto normal = normalize_to_schema(tool.input_schema, validated, "args");
  if (!normal.ok()) return std::move(normal).error();
  const Value args = std::move(*normal);

  ChildSpec spec;
  auto cwd = resolve_cwd(tool, args, workspace);
  if (!cwd.ok()) return std::move(cwd).error();
  spec.cwd = *cwd;
  const FormatCheck workspace_paths = [&](std::string_view format,
                                          const std::string& value) -> std::optional<std::string> {
    if (format != kWorkspacePathFormat) return std::nullopt;
    auto resolved = resolve_in_workspace(workspace, spec.cwd, value);
    if (resolved.ok()) return std::nullopt;
    return resolved.error().message;
  };
  if (auto st = validate_against_schema(tool.input_schema, args, "args", workspace_paths);
      !st.ok()) {
    return st.error();
  }

  for (size_t i = 0; i < tool.command.size(); ++i) {
    auto element = render_arg_template(tool.command[i], args);
    if (!element.ok()) return element.error().with_context("command[" + std::to_string(i) + "]");
    if (element->find('\0') != std::string::npos) {
      return make_error(ErrorCode::kInvalidInput, "command[" + std::to_string(i) +
                                                      "]: an argument holds a NUL byte, which argv cannot carry");
    }
    spec.argv.push_back(std::move(*element));
  }
  if (spec.argv.empty()) return make_error(ErrorCode::kInvalidInput, "the tool has no command");
  auto program = find_program(spec.argv[0], path_variable(environment));
  if (!program) {
    return make_error(ErrorCode::kInvalidInput, "program \"" + spec.argv[0] + "\" is not found in PATH");
  }
  spec.program = *program;
  spec.env = tool_environment(tool, environment);
  if (tool.stdin_template) {
    auto input = render_arg_template(*tool.stdin_template, args);
    if (!input.ok()) return input.error().with_context("stdin");
    spec.stdin_data = std::move(*input);
  }
  spec.cpu_seconds = tool.effective_cpu_seconds();
  spec.memory_bytes = tool.limits.memory_mb * 1024 * 1024;
  spec.open_files = tool.limits.open_files;
  spec.max_stdout = static_cast<size_t>(tool.max_output_bytes);
  return spec;
}

}  // namespace pl::worker
