#include "cli/run_tools.h"

#include <chrono>

#include "common/registry/registry_client.h"
#include "common/registry/tool_file.h"
#include "common/state_paths.h"

namespace pl::cli {

using namespace std::chrono_literals;

Result<std::vector<ToolDefinition>> load_run_tools(const std::vector<std::string>& files) {
  std::vector<ToolDefinition> tools;
  for (const std::string& file : files) {
    auto definition = load_tool_file(file);
    if (!definition.ok()) return std::move(definition).error();
    tools.push_back(std::move(*definition));
  }
  return tools;
}

Status register_run_tools(const std::filesystem::path& state_dir,
                          const std::vector<ToolDefinition>& tools) {
  if (tools.empty()) return ok_status();
  auto endpoint = StatePaths(state_dir).registry_endpoint();
  if (!endpoint.ok()) return std::move(endpoint).error();
  RegistryClientOptions options;
  options.endpoint = *endpoint;
  options.attempt_timeout = 2s;
  options.deadline = 8s;
  RegistryClient client(options);
  for (const ToolDefinition& tool : tools) {
    auto registered = client.register_tool(tool);
    if (registered.ok()) continue;
    if (registered.error().code != ErrorCode::kConflict) {
      return registered.error().with_context("registering tool \"" + tool.name + "\"");
    }
    auto existing = client.get_tool(tool.name);
    if (!existing.ok()) {
      return existing.error().with_context("reading tool \"" + tool.name + "\"");
    }
    if (to_value(existing->definition) != to_value(tool)) {
      return make_error(ErrorCode::kConflict,
                        "tool \"" + tool.name + "\" is registered on " + state_dir.string() +
                            " with another definition (revision " +
                            std::to_string(existing->revision) +
                            "); update it there with `pipelinectl tools register --replace`");
    }
  }
  return ok_status();
}

}  // namespace pl::cli
