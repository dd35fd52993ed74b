#include "worker/executors/echo_executor.h"

namespace pl::worker {

bool EchoExecutor::runs_inline(const protocol::WorkItem& item) const {
  // The same reading of delay_ms as execute()'s: a missing or non-integer delay is none.
  return item.input.get_int("delay_ms", 0) <= 0;
}

Result<Value> EchoExecutor::execute(const protocol::WorkItem& item,
                                    const ExecutionContext& context) {
  const Value& input = item.input;
  const int64_t delay_ms = input.get_int("delay_ms", 0);
  if (delay_ms > 0 && context.cancel.wait_for(std::chrono::milliseconds(delay_ms))) {
    return make_error(ErrorCode::kCancelled, "cancelled: " + context.cancel.reason());
  }
  if (input.get_bool("fail", false)) {
    return make_error(ErrorCode::kStepFailed,
                      input.get_string("error_message", "echo step asked to fail"));
  }
  Value out;
  const Value* value = input.find("value");
  out["data"] = value ? *value : Value();
  if (value && value->is_string()) out["text"] = *value;
  return out;
}

}  // namespace pl::worker
