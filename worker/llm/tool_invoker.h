// The tools seam of the tool-use loop: what a tool looks like to the model, and running one.
//
// The real implementation will sit on the registry (tool definitions) and the worker's tool
// runner (a child process per call, confined to the run's workspace); see unwired_registry.h
// for the stand-in used until that is wired. Tests use a fake that records calls.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "worker/providers/provider.h"

namespace pl::worker::llm {

// Where and for whom a tool runs.
struct ToolRunContext {
  providers::CallContext call;         // the step's deadline and cancel token
  const Value* work_context = nullptr;  // {workspace_dir, output_dir, pipeline_dir}
  std::string run_id;
  std::string step_name;
};

class ToolInvoker {
 public:
  virtual ~ToolInvoker() = default;

  // The definitions of the named tools, in the order named. kNotFound naming every unknown tool;
  // kUnavailable when the definitions cannot be fetched (registry down, not wired).
  virtual Result<std::vector<providers::ToolSpec>> describe(const std::vector<std::string>& names,
                                                            const providers::CallContext& call) = 0;

  // Runs tool `name` with `arguments` (a JSON object). Returns the tool's output: a string, or
  // any JSON value (sent to the model as JSON text). An Error is shown to the model as a failed
  // tool call and the conversation goes on, except kCancelled and kTimeout (the step's own
  // deadline), which end the step. Thread-safe.
  virtual Result<Value> invoke(const std::string& name, const Value& arguments,
                               const ToolRunContext& context) = 0;
};

}  // namespace pl::worker::llm
