#include "worker/executors/gemini_executor.h"

#include "worker/llm/gemini_functions.h"
#include "worker/llm/llm_call.h"

namespace pl::worker {

GeminiExecutor::GeminiExecutor(std::shared_ptr<const llm::LlmServices> services)
    : services_(std::move(services)) {}

Result<Value> GeminiExecutor::execute(const protocol::WorkItem& item, const ExecutionContext& context) {
  const Value& input = item.input;
  const llm::ItemScope scope = llm::item_scope(item, context, *services_);
  auto spec = llm::gemini_call_spec(input);
  if (!spec.ok()) return std::move(spec).error();
  auto functions = llm::declared_functions(input);
  if (!functions.ok()) return std::move(functions).error();
  auto prompt = llm::item_prompt(input, scope);
  if (!prompt.ok()) return std::move(prompt).error();
  llm::CallPlan plan;
  plan.spec = std::move(*spec);
  plan.messages.push_back(providers::Message::user(std::move(*prompt)));
  plan.declared_tools = std::move(*functions);
  auto outcome = llm::run_call(*services_, plan, scope);
  if (!outcome.ok()) return std::move(outcome).error();
  return llm::conversation_result(*outcome, services_->pricing());
}

}  // namespace pl::worker
