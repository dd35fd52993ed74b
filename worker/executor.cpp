#include "worker/executor.h"

namespace pl::worker {

void ExecutorTable::add(std::string type, std::unique_ptr<StepExecutor> executor) {
  executors_[std::move(type)] = std::move(executor);
}

StepExecutor* ExecutorTable::find(std::string_view type) const {
  auto it = executors_.find(std::string(type));
  return it == executors_.end() ? nullptr : it->second.get();
}

}  // namespace pl::worker
