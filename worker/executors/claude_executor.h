// `claude` (and the tasks of `parallel_claude` / `claude_batch`, which arrive as `claude` items
// with a `task_id`): one Anthropic Messages conversation. Input: {prompt, claude_options: {model,
// system_prompt, append_system_prompt, max_turns, allowed_tools, max_tokens, temperature, ...}}.
// With allowed_tools, the tool-use loop runs them through the registry's tools, up to max_turns
// model calls. Result: see worker/llm/llm_call.h, plus `task_id` when the item has one. Without
// an Anthropic key the mock answers (mock: true, stands_in_for: anthropic).
#pragma once

#include <memory>

#include "worker/executor.h"
#include "worker/llm/llm_services.h"

namespace pl::worker {

class ClaudeExecutor final : public StepExecutor {
 public:
  explicit ClaudeExecutor(std::shared_ptr<const llm::LlmServices> services);
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  std::shared_ptr<const llm::LlmServices> services_;
};

}  // namespace pl::worker
