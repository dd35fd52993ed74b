// Tool definition files (configs/tools/*.yaml, or JSON): what `pipelinectl tools register` reads.
#pragma once

#include <filesystem>

#include "common/registry/tool_definition.h"
#include "common/result.h"

namespace pl {

// Reads a YAML or JSON file holding one tool definition (tool_definition.h). kInvalidInput lists
// every problem as "file:line:column: field: what" (unknown keys point at the key); kNotFound
// when the file does not exist.
Result<ToolDefinition> load_tool_file(const std::filesystem::path& path);

}  // namespace pl
