#include "worker/executors/echo_executor.h"

#include "worker/step_option.h"

namespace pl::worker {
namespace {

// A rendered template gives text ("{{inputs.fail}}" with --input fail=true is "true"), so text
// is read as the value it spells; anything else is an error, never quietly "no".
Result<bool> fail_option(const Value& input) {
  const Value* v = input.find("fail");
  if (!v || v->is_null()) return false;
  if (const std::optional<bool> b = option_boolean(*v)) return *b;
  return make_error(ErrorCode::kInvalidInput, "echo: fail must be true or false");
}

Result<int64_t> delay_option(const Value& input) {
  const Value* v = input.find("delay_ms");
  if (!v || v->is_null()) return int64_t{0};
  if (const std::optional<int64_t> n = option_integer(*v)) return *n;
  return make_error(ErrorCode::kInvalidInput, "echo: delay_ms must be an integer (milliseconds)");
}

}  // namespace

bool EchoExecutor::runs_inline(const protocol::WorkItem& item) const {
  // The same reading of delay_ms as execute()'s; a bad one fails at once, inline too.
  auto delay = delay_option(item.input);
  return !delay.ok() || *delay <= 0;
}

Result<Value> EchoExecutor::execute(const protocol::WorkItem& item,
                                    const ExecutionContext& context) {
  const Value& input = item.input;
  auto delay_ms = delay_option(input);
  if (!delay_ms.ok()) return std::move(delay_ms).error();
  auto fail = fail_option(input);
  if (!fail.ok()) return std::move(fail).error();
  if (*delay_ms > 0 && context.cancel.wait_for(std::chrono::milliseconds(*delay_ms))) {
    return make_error(ErrorCode::kCancelled, "cancelled: " + context.cancel.reason());
  }
  if (*fail) {
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
