// `gemini_instructor`: structured output through Gemini function calling. Input: {prompt,
// model, token_budget, functions, function_definitions, schema}. The model must call one of the
// functions (or "structured_output", whose parameters are `schema`, when no functions are
// named); the call's arguments must be a JSON object and, when a schema is given (`schema`, else
// the function's parameters), match it. An answer that is text holding such a JSON object is
// accepted too. Otherwise kStepFailed, saying what was wrong. Result: see
// worker/llm/llm_call.h, plus `data` (the arguments) and `function` (its name).
#pragma once

#include <memory>

#include "worker/executor.h"
#include "worker/llm/llm_services.h"

namespace pl::worker {

class GeminiInstructorExecutor final : public StepExecutor {
 public:
  explicit GeminiInstructorExecutor(std::shared_ptr<const llm::LlmServices> services);
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  std::shared_ptr<const llm::LlmServices> services_;
};

}  // namespace pl::worker
