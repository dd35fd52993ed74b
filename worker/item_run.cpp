#include "worker/item_run.h"

#include <sys/resource.h>

#include <new>
#include <string>

namespace pl::worker {

namespace {

std::optional<uint64_t> address_space_limit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<uint64_t>(limit.rlim_cur);
}

}  // namespace

Error out_of_memory(const protocol::WorkItem& item, std::optional<uint64_t> address_space) {
  const std::string step = "step \"" + item.step_name + "\" (" + item.step_type + ")";
  // io, which a retry policy retries: the item that asked last is not always the one that
  // took the memory (the worker's slots share it).
  if (address_space) {
    return make_error(ErrorCode::kIo,
                      step +
                          " could not get the memory it asked for: this worker's address "
                          "space is limited to " +
                          std::to_string(*address_space >> 20) +
                          " MiB (rlimits.address_space of its entry in the supervisor's config), "
                          "shared by the items it runs at once; raise it, or give the step less "
                          "to hold at once");
  }
  return make_error(ErrorCode::kIo, step +
                                        " ran out of memory: the machine had none left to give "
                                        "this worker (no address-space limit was set on it)");
}

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
    } catch (const std::bad_array_new_length& e) {
      // A size computed wrong (negative, overflowed), not a lack of memory.
      fields = make_error(ErrorCode::kInternal, std::string("executor threw: ") + e.what());
    } catch (const std::bad_alloc&) {
      fields = out_of_memory(item, address_space_limit());
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
