// `llm`: one conversation with any provider by name. Input: {provider (anthropic, gemini,
// openai, mock; default openai, as the broker assumes), model, prompt, system_prompt,
// max_tokens, temperature, top_p, max_turns, allowed_tools}. `openai` is any OpenAI-compatible
// chat/completions server (base URL from config). Result: see worker/llm/llm_call.h.
#pragma once

#include <memory>

#include "worker/executor.h"
#include "worker/llm/llm_services.h"

namespace pl::worker {

class LlmExecutor final : public StepExecutor {
 public:
  explicit LlmExecutor(std::shared_ptr<const llm::LlmServices> services);
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  std::shared_ptr<const llm::LlmServices> services_;
};

}  // namespace pl::worker
