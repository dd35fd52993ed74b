// `claude_robust`: a claude call whose failures end in a fallback (worker/llm/robust.h).
// Input: {prompt, claude_options, retry_config: {max_retries, backoff_strategy, base_delay_ms,
// retry_conditions, fallback_action}}. Retries are the broker's; this applies fallback_action
// once no retry will follow. Result: see worker/llm/llm_call.h, plus `attempt`; fallback
// results add `fallback` and `original_error`.
#pragma once

#include <memory>

#include "worker/executor.h"
#include "worker/llm/llm_services.h"

namespace pl::worker {

class ClaudeRobustExecutor final : public StepExecutor {
 public:
  explicit ClaudeRobustExecutor(std::shared_ptr<const llm::LlmServices> services);
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  std::shared_ptr<const llm::LlmServices> services_;
};

}  // namespace pl::worker
