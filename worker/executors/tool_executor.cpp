#include "worker/executors/tool_executor.h"

#include "worker/tool_runner.h"

namespace pl::worker {

ToolExecutor::ToolExecutor(ToolCatalog& catalog, std::vector<std::string> environment)
    : catalog_(catalog), environment_(std::move(environment)) {}

Result<Value> ToolExecutor::execute(const protocol::WorkItem& item, const ExecutionContext& context) {
  const Value* name = item.input.find("tool");
  if (!name || !name->is_string() || name->as_string().empty()) {
    return make_error(ErrorCode::kInvalidInput, "tool step: \"tool\" must name a registered tool");
  }
  const Value* args = item.input.find("args");
  if (args && !args->is_null() && !args->is_object()) {
    return make_error(ErrorCode::kInvalidInput, "tool step: \"args\" must be a map");
  }
  auto definition =
      catalog_.find(name->as_string(), item_call_limit(context.deadline, &context.cancel));
  if (!definition.ok()) return definition.error().with_context("tool step");
  ToolRunContext run;
  run.workspace_dir = item.context_value().get_string("workspace_dir");
  run.deadline = context.deadline;
  run.cancel = &context.cancel;
  run.environment = environment_;
  return run_tool(*definition, args ? *args : Value::object(), run);
}

}  // namespace pl::worker
