// `claude_session`: a claude call that continues a named conversation kept in the registry.
// Input: {prompt, claude_options, session_config: {session_name, persist, max_turns,
// history_bytes}}. Loads the session's newest turns that fit the history window as history,
// calls the model, and (persist, the default) appends the prompt and the answer if the session
// has not changed meanwhile. Before paying for the call it fails (nothing called) when the
// session is full or the prompt makes a turn the registry could not store, and returns the
// saved answer when this item already saved one for this very prompt.
// After the call: a concurrent change is kConflict and nothing is saved, unless the turn that
// won is this item's own for this prompt (then its answer is the result); an answer without
// text is not saved (kStepFailed). A failure after the call keeps the result fields, its usage
// included (failed_result). Result: see worker/llm/llm_call.h, plus session: {name, version,
// history_turns, saved, reused_turn?}. Session errors are never blamed on the provider.
#pragma once

#include <memory>

#include "worker/executor.h"
#include "worker/llm/llm_call.h"
#include "worker/llm/llm_services.h"
#include "worker/llm/session_history.h"

namespace pl::worker {

class ClaudeSessionExecutor final : public StepExecutor {
 public:
  explicit ClaudeSessionExecutor(std::shared_ptr<const llm::LlmServices> services);
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  // Appends the answer of `outcome` as the session's next turn; `result` is the call's.
  Result<Value> save_turn(const llm::SessionSettings& settings, const Session& session,
                          const protocol::WorkItem& item, const std::string& prompt,
                          const llm::CallOutcome& outcome, const providers::CallContext& call,
                          Value result) const;
  // The answer when the append lost to another writer (409).
  Result<Value> after_conflict(const llm::SessionSettings& settings, int64_t read_version,
                               const protocol::WorkItem& item, const std::string& prompt,
                               const providers::Usage& spent, const providers::CallContext& call,
                               Value result) const;

  std::shared_ptr<const llm::LlmServices> services_;
};

}  // namespace pl::worker
