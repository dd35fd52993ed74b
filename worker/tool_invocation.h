// From a tool definition and its arguments to exactly what will be exec'd: the pure half of
// running a tool (plus path resolution in the workspace), testable without starting anything.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/registry/tool_definition.h"
#include "common/result.h"
#include "common/value.h"
#include "worker/child_process.h"

namespace pl::worker {

// Prepares one run of `tool`:
//  - `args` (an object; null counts as {}) gets the schema's defaults, then is validated against
//    the tool's input_schema: kInvalidInput "args.path: expected a string, got a number";
//  - cwd is rendered and resolved inside `workspace`; it must be an existing directory;
//  - every string with format workspace_path must resolve inside `workspace` (relative to cwd);
//  - each command element is rendered on its own into one argv entry (a value holding a NUL
//    byte is refused: argv cannot carry it); command[0] is looked up in the PATH of
//    `environment`;
//  - the environment is the allow-listed variables of `environment` ("NAME=value" entries, the
//    worker's own) followed by the tool's fixed env, which wins;
//  - stdin is rendered when the tool has one; limits and the stdout bound are copied.
// REQUIRES: `workspace` is a real path (open_workspace).
Result<ChildSpec> prepare_tool_run(const ToolDefinition& tool, const Value& args,
                                   const std::filesystem::path& workspace,
                                   const std::vector<std::string>& environment);

// The environment of this process as "NAME=value" entries.
std::vector<std::string> current_environment();

}  // namespace pl::worker
