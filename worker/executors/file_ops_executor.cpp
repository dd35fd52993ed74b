#include "worker/executors/file_ops_executor.h"

namespace pl::worker {

Result<Value> FileOpsExecutor::execute(const protocol::WorkItem& item,
                                       const ExecutionContext& context) {
  auto request = data::parse_file_ops_request(item.input);
  if (!request.ok()) return std::move(request).error();
  auto workspace = data::Workspace::from_context(item.context_value());
  if (!workspace.ok()) return std::move(workspace).error().with_context("file_ops");

  const CancelToken& cancel = context.cancel;
  const auto deadline = context.deadline;
  const data::FileStopCheck stop = [&cancel, deadline] {
    return cancel.cancelled() || std::chrono::steady_clock::now() > deadline;
  };
  auto result = data::run_file_operation(*request, *workspace, limits_, stop);
  if (!result.ok()) {
    Error e = std::move(result).error();
    if (e.code == ErrorCode::kCancelled && !cancel.cancelled()) e.code = ErrorCode::kTimeout;
    return e;
  }
  Value out = Value::object();
  out["data"] = std::move(*result);
  return out;
}

}  // namespace pl::worker
