// `claude_session`: a claude call that continues a named conversation kept in the registry.
// Input: {prompt, claude_options, session_config: {session_name, persist, max_turns}}. Loads the
// session's last max_turns turns as history, calls the model, and (persist, the default)
// appends the prompt and the answer if the session has not changed meanwhile; a concurrent
// change is kConflict and nothing is saved. Result: see worker/llm/llm_call.h, plus session:
// {name, version, history_turns, saved}. Session errors are never blamed on the provider.
#pragma once

#include <memory>

#include "worker/executor.h"
#include "worker/llm/llm_services.h"

namespace pl::worker {

class ClaudeSessionExecutor final : public StepExecutor {
 public:
  explicit ClaudeSessionExecutor(std::shared_ptr<const llm::LlmServices> services);
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  std::shared_ptr<const llm::LlmServices> services_;
};

}  // namespace pl::worker
