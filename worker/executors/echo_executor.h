// `echo` (alias `test_echo`): returns `value`, or fails with `error_message` when `fail` is
// true, after `delay_ms`. For tests, demos and benchmarks; the delay is cancellable.
#pragma once

#include "worker/executor.h"

namespace pl::worker {

class EchoExecutor final : public StepExecutor {
 public:
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;
  // Inline unless it has a delay to sleep through (and so a cancellation to honour).
  bool runs_inline(const protocol::WorkItem& item) const override;
};

}  // namespace pl::worker
