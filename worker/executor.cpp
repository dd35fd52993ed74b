#include "worker/executor.h"

namespace pl::worker {

Value failed_result(Value fields, const Error& error) {
  if (!fields.is_object()) fields = Value::object();
  fields["success"] = false;
  fields["error"] = error.message;
  fields["error_code"] = std::string(error_code_name(error.code));
  if (error.retry_after_ms > 0) fields["retry_after_ms"] = error.retry_after_ms;
  return fields;
}

bool is_failed_result(const Value& fields) {
  const Value* success = fields.find("success");
  const Value* code = fields.find("error_code");
  return success && success->is_bool() && !success->as_bool() && code && code->is_string();
}

void ExecutorTable::add(std::string type, std::unique_ptr<StepExecutor> executor) {
  executors_[std::move(type)] = std::move(executor);
}

StepExecutor* ExecutorTable::find(std::string_view type) const {
  auto it = executors_.find(std::string(type));
  return it == executors_.end() ? nullptr : it->second.get();
}

}  // namespace pl::worker
