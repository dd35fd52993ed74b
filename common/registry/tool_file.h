// Tool definition files (configs/tools/*.yaml, or JSON): what `pipelinectl tools register` reads.
#pragma once

#include <filesystem>

#include "common/registry/tool_definition.h"
#include "common/result.h"

namespace pl {

// Reads a YAML or JSON file holding one tool definition (tool_definition.h). kInvalidInput lists
// every problem as "file:line:column: field: what" (unknown keys point at the key); kNotFound
// when the file does not exist. An unquoted number or boolean in `command` or `env` is kept as
// written (`+2`, `1.10`, `0755`), not as YAML would type it (2, 1.1, 755).
Result<ToolDefinition> load_tool_file(const std::filesystem::path& path);

}  // namespace pl
