// `set_variable`: returns the (already bound) variables; the broker applies them to the run's
// state or the loop's scope.
#pragma once

#include "worker/executor.h"

namespace pl::worker {

class SetVariableExecutor final : public StepExecutor {
 public:
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;
};

}  // namespace pl::worker
