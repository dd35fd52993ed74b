#include "worker/executors/set_variable_executor.h"

namespace pl::worker {

Result<Value> SetVariableExecutor::execute(const protocol::WorkItem& item,
                                           const ExecutionContext&) {
  const Value* variables = item.input.find("variables");
  if (!variables || !variables->is_object()) {
    return make_error(ErrorCode::kInvalidInput, "set_variable: `variables` must be a map");
  }
  Value out;
  out["data"] = *variables;
  return out;
}

}  // namespace pl::worker
