#include "worker/executors/claude_executor.h"

#include "worker/llm/llm_call.h"
#include "worker/llm/presets.h"

namespace pl::worker {

ClaudeExecutor::ClaudeExecutor(std::shared_ptr<const llm::LlmServices> services)
    : services_(std::move(services)) {}

Result<Value> ClaudeExecutor::execute(const protocol::WorkItem& item, const ExecutionContext& context) {
  const Value& input = item.input;
  const llm::ItemScope scope = llm::item_scope(item, context, *services_);
  auto prompt = llm::item_prompt(input, scope);
  if (!prompt.ok()) return std::move(prompt).error();
  llm::ClaudeCall call;
  call.claude_options = llm::member_or_null(input, "claude_options");
  // A claude_batch's `preset` reaches its tasks here: it fills what claude_options leave out.
  const Value* preset = input.find("preset");
  if (preset && preset->is_string()) {
    auto options = llm::apply_preset(call.claude_options, preset->as_string());
    if (!options.ok()) return std::move(options).error();
    call.claude_options = std::move(*options);
  }
  auto outcome = llm::run_claude_call(*services_, scope, call, *prompt);
  if (!outcome.ok()) return std::move(outcome).error();
  Value result = llm::conversation_result(*outcome, services_->pricing());
  if (const Value* task = input.find("task_id"); task && !task->is_null()) result["task_id"] = *task;
  if (preset && preset->is_string()) result["preset"] = *preset;
  return result;
}

}  // namespace pl::worker
