// `set_variable`: returns the (already bound) variables; the broker applies them to the run's
// state or the loop's scope.
#pragma once

#include "worker/executor.h"

namespace pl::worker {

class SetVariableExecutor final : public StepExecutor {
 public:
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;
  // Always inline: a copy of its input.
  bool runs_inline(const protocol::WorkItem&) const override { return true; }
};

}  // namespace pl::worker
