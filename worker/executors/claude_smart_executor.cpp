#include "worker/executors/claude_smart_executor.h"

#include "worker/llm/llm_call.h"
#include "worker/llm/presets.h"

namespace pl::worker {
namespace {

constexpr std::string_view kDefaultPreset = "development";

}  // namespace

ClaudeSmartExecutor::ClaudeSmartExecutor(std::shared_ptr<const llm::LlmServices> services)
    : services_(std::move(services)) {}

Result<Value> ClaudeSmartExecutor::execute(const protocol::WorkItem& item,
                                           const ExecutionContext& context) {
  const Value& input = item.input;
  const std::string preset = input.get_string("preset", kDefaultPreset);
  llm::ClaudeCall call;
  auto options = llm::apply_preset(llm::member_or_null(input, "claude_options"), preset);
  if (!options.ok()) return std::move(options).error();
  call.claude_options = std::move(*options);
  const llm::ItemScope scope = llm::item_scope(item, context, *services_);
  auto prompt = llm::item_prompt(input, scope);
  if (!prompt.ok()) return std::move(prompt).error();
  auto outcome = llm::run_claude_call(*services_, scope, call, *prompt);
  if (!outcome.ok()) return std::move(outcome).error();
  Value result = llm::conversation_result(*outcome, services_->pricing());
  result["preset"] = preset;
  return result;
}

}  // namespace pl::worker
