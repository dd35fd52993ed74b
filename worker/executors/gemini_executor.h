// `gemini`: one Gemini generateContent call. Input: {prompt, model, token_budget:
// {max_output_tokens, temperature, top_p, top_k}, functions, function_definitions}. Functions
// are declarations (see worker/llm/gemini_functions.h): the model's calls come back in
// `function_calls` [{name, args}], unrun. Result: see worker/llm/llm_call.h.
#pragma once

#include <memory>

#include "worker/executor.h"
#include "worker/llm/llm_services.h"

namespace pl::worker {

class GeminiExecutor final : public StepExecutor {
 public:
  explicit GeminiExecutor(std::shared_ptr<const llm::LlmServices> services);
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  std::shared_ptr<const llm::LlmServices> services_;
};

}  // namespace pl::worker
