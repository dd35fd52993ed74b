#include "worker/executors/llm_executor.h"

#include "worker/llm/llm_call.h"

namespace pl::worker {

LlmExecutor::LlmExecutor(std::shared_ptr<const llm::LlmServices> services)
    : services_(std::move(services)) {}

Result<Value> LlmExecutor::execute(const protocol::WorkItem& item, const ExecutionContext& context) {
  const Value& input = item.input;
  const llm::ItemScope scope = llm::item_scope(item, context, *services_);
  auto spec = llm::llm_call_spec(input, services_->limits().default_llm_provider);
  if (!spec.ok()) return std::move(spec).error();
  auto prompt = llm::item_prompt(input, scope);
  if (!prompt.ok()) return std::move(prompt).error();
  llm::CallPlan plan;
  plan.spec = std::move(*spec);
  plan.messages.push_back(providers::Message::user(std::move(*prompt)));
  auto outcome = llm::run_call(*services_, plan, scope);
  if (!outcome.ok()) return std::move(outcome).error();
  return llm::conversation_result(*outcome, services_->pricing());
}

}  // namespace pl::worker
