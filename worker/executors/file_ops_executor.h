// `file_ops`: copy, move, delete, list, validate and convert inside the run's workspace
// (worker/data/file_operations.h has the rules; worker/data/workspace.h the confinement).
//
// The work item's input is the step's options as written (templates rendered): `operation`
// and its keys (worker/data/file_request.h). The item's context gives the roots:
// {workspace_dir, output_dir}, absolute paths; paths in the step are relative to workspace_dir,
// or to output_dir when they start with "output:".
//
// Result: {data: <the operation's result>}. Errors start with "file_ops (<operation>): ".
// The cancel token and the deadline are checked between entries.
#pragma once

#include "worker/data/file_operations.h"
#include "worker/executor.h"

namespace pl::worker {

class FileOpsExecutor final : public StepExecutor {
 public:
  explicit FileOpsExecutor(data::FileOpsLimits limits = {}) : limits_(limits) {}
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  data::FileOpsLimits limits_;
};

}  // namespace pl::worker
