// Runs a registered tool for a step or for an LLM's tool-use loop: run_tool(definition, args,
// context). Arguments are validated against the tool's schema, the command is built element by
// element (never through a shell), and the tool runs as a confined child process
// (child_process.h) in the run's workspace, with the tool's timeout, limits and environment.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/registry/tool_definition.h"
#include "common/result.h"
#include "common/value.h"
#include "worker/cancel_token.h"

namespace pl::worker {

struct ToolRunContext {
  std::filesystem::path workspace_dir;   // the run's workspace (WorkItem::context.workspace_dir)
  TimePoint deadline = TimePoint::max();  // the item's; the tool's own timeout may come first
  const CancelToken* cancel = nullptr;    // killing the tool when cancelled; may be null
  std::vector<std::string> environment;   // where env_allow and PATH are looked up
};

// Runs `tool` once with `args`. On success (exit status 0) returns
//   {text: stdout, data: stdout parsed as JSON (when it is JSON), exit_code: 0, stderr, tool}.
// Errors, each naming the tool:
//   kInvalidInput  the arguments do not fit the schema, a path leaves the workspace, the program
//                  cannot be found or executed;
//   kStepFailed    it exited non-zero ("... exited with status 3: <stderr tail>") or was killed
//                  by a signal (a CPU or memory limit, a crash);
//   kTimeout       it did not finish within its timeout (or the item's deadline) and was killed;
//   kCancelled     the item was cancelled and the tool killed;
//   kTooLarge      it wrote more than max_output_bytes to stdout and was killed;
//   kIo            it could not be started (fork, pipes, the workspace).
// Thread-safe; see child_process.h for the thread requirement.
Result<Value> run_tool(const ToolDefinition& tool, const Value& args, const ToolRunContext& context);

}  // namespace pl::worker
