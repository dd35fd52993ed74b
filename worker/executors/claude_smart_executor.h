// `claude_smart`: a claude call with an option preset (worker/llm/presets.h). Input: {prompt,
// claude_options, preset (development, production, analysis, chat, test; default
// development)}. The step's own claude_options win over the preset's. Result: see
// worker/llm/llm_call.h, plus `preset`.
#pragma once

#include <memory>

#include "worker/executor.h"
#include "worker/llm/llm_services.h"

namespace pl::worker {

class ClaudeSmartExecutor final : public StepExecutor {
 public:
  explicit ClaudeSmartExecutor(std::shared_ptr<const llm::LlmServices> services);
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  std::shared_ptr<const llm::LlmServices> services_;
};

}  // namespace pl::worker
