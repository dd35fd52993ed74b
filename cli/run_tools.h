// `pipelinectl run --tool FILE`: tool definitions registered in the tree's registry before the
// run, so that a pipeline that calls a tool runs on a private tree too (whose registry starts
// empty and is gone when the run ends).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/registry/tool_definition.h"
#include "common/result.h"

namespace pl::cli {

// Reads and checks every file; the first bad one's error names it (file:line:column).
Result<std::vector<ToolDefinition>> load_run_tools(const std::vector<std::string>& files);

// Registers `tools` in the registry of the tree on `state_dir`. A tool already registered with
// the same definition is left as it is (a kept tree, a second run); one registered with another
// definition is a conflict: the run does not silently replace what others may use.
Status register_run_tools(const std::filesystem::path& state_dir,
                          const std::vector<ToolDefinition>& tools);

}  // namespace pl::cli
