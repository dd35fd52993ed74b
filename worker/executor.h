// What runs one item of one step type. Executors are stateless between items; whatever they
// need (provider clients, the registry) is given at construction.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/protocol/work.h"
#include "common/result.h"
#include "common/value.h"
#include "worker/cancel_token.h"

namespace pl::worker {

// What an executor is given besides the item.
struct ExecutionContext {
  const CancelToken& cancel;
  std::chrono::steady_clock::time_point deadline;  // when the broker stops waiting
};

class StepExecutor {
 public:
  virtual ~StepExecutor() = default;
  // Runs one attempt. Returns the step's result fields ({text?, data?, provider?, usage?, ...});
  // the worker adds success, duration_ms and, on an Error, error and error_code. An Error means
  // the step failed; its code decides whether the broker may retry it. A failure that must
  // still report fields (the usage of a model call paid for before the step failed) is
  // returned as failed_result(fields, error) instead.
  virtual Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) = 0;

  // True when `item` is instant: pure in-memory work whose cost is bounded by the item's own
  // size (which the worker already paid for when it decoded the item), with no wait, no I/O, no
  // sleep and no lock that another item may hold. The worker then runs it on its loop thread,
  // sparing two thread hand-offs; anything else runs on a slot thread so that heartbeats never
  // stall. Cancellation cannot reach an inline item (it has finished before the loop reads the
  // next message), so an executor that watches its CancelToken or deadline must return false.
  // Must not throw. The default, false, is always safe.
  virtual bool runs_inline(const protocol::WorkItem& item) const {
    (void)item;
    return false;
  }
};

// A failed attempt that keeps `fields`: they plus success: false, error and error_code (and
// retry_after_ms when the error asks for a wait). run_item passes it on as the failure it is, so
// the broker counts its usage in the run's like any other result's.
Value failed_result(Value fields, const Error& error);

// Whether an executor's fields are a failed_result.
bool is_failed_result(const Value& fields);

// Step type name -> executor. Types with no executor fail with a clear error.
class ExecutorTable {
 public:
  void add(std::string type, std::unique_ptr<StepExecutor> executor);
  // nullptr when the type has no executor here.
  StepExecutor* find(std::string_view type) const;

 private:
  std::unordered_map<std::string, std::unique_ptr<StepExecutor>> executors_;
};

}  // namespace pl::worker
