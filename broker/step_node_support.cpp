#include "broker/step_node_support.h"

#include <chrono>

namespace pl::broker {

using pipeline::Step;

void set_step_deadline(RunExecution& run, const Node& node, std::optional<int64_t> timeout_ms) {
  if (timeout_ms && *timeout_ms > 0) {
    run.set_deadline(node, run.now() + std::chrono::milliseconds(*timeout_ms));
  }
}

Value failure_result(std::string message, ErrorCode code) {
  Value v;
  v["success"] = false;
  v["error"] = std::move(message);
  v["error_code"] = std::string(error_code_name(code));
  return v;
}

std::string at_step(const Step& step, std::string_view what) {
  return "step \"" + step.name + "\" (" + pipeline::to_string(step.location) +
         "): " + std::string(what);
}

Value timeout_result(const Step& step, int64_t timeout_ms) {
  return failure_result(at_step(step, "timed out after " + std::to_string(timeout_ms) +
                                          " ms; what it was still running is cancelled"),
                        ErrorCode::kTimeout);
}

}  // namespace pl::broker
