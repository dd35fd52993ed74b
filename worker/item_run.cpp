#include "worker/item_run.h"

#include <string>

namespace pl::worker {

FinishedItem run_item(StepExecutor* executor, const protocol::WorkItem& item,
                      const ExecutionContext& context, const Clock& clock) {
  const TimePoint started = clock.now();
  const int64_t started_ms = unix_millis(clock.wall_now());
  FinishedItem out;
  out.item_id = item.item_id;
  out.attempt = item.attempt;

  Result<Value> fields = make_error(ErrorCode::kInternal, "not run");
  if (executor) {
    try {
      fields = executor->execute(item, context);
    } catch (const std::exception& e) {
      // An executor bug must not take the worker down with the other slots' items.
      fields = make_error(ErrorCode::kInternal, std::string("executor threw: ") + e.what());
    }
  } else {
    fields = make_error(ErrorCode::kInvalidInput,
                        "step type \"" + item.step_type + "\" is not supported by this worker");
  }

  Value& result = out.result;
  if (fields.ok()) {
    result = std::move(*fields);
    if (!result.is_object()) result = Value::object();
    if (!is_failed_result(result)) result["success"] = true;
  } else {
    // With what the failure still reports (the cost of model calls it paid for), if anything.
    const Error& e = fields.error();
    result = failed_result(e.fields ? *e.fields : Value::object(), e);
  }
  out.timing = protocol::AttemptTiming{
      started_ms,  // wall clock: when this attempt began here
      std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - started).count()};
  return out;
}

}  // namespace pl::worker
