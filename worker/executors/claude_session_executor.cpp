#include "worker/executors/claude_session_executor.h"

#include "worker/llm/blame.h"
#include "worker/llm/llm_call.h"
#include "worker/llm/session_history.h"

namespace pl::worker {

ClaudeSessionExecutor::ClaudeSessionExecutor(std::shared_ptr<const llm::LlmServices> services)
    : services_(std::move(services)) {}

Result<Value> ClaudeSessionExecutor::execute(const protocol::WorkItem& item,
                                             const ExecutionContext& context) {
  const Value& input = item.input;
  auto settings = llm::read_session_settings(llm::member_or_null(input, "session_config"),
                                             services_->limits().default_session_turns);
  if (!settings.ok()) return std::move(settings).error();
  const std::string what = "session \"" + settings->name + "\"";
  const llm::ItemScope scope = llm::item_scope(item, context, *services_);
  auto prompt = llm::item_prompt(input, scope);
  if (!prompt.ok()) return std::move(prompt).error();

  auto snapshot = services_->sessions().load(settings->name,
                                             static_cast<size_t>(settings->history_turns), scope.call);
  if (!snapshot.ok()) return llm::not_the_providers_fault(snapshot.error(), what);

  llm::ClaudeCall call;
  call.claude_options = llm::member_or_null(input, "claude_options");
  call.history = llm::history_messages(snapshot->turns);
  auto outcome = llm::run_claude_call(*services_, scope, call, *prompt);
  if (!outcome.ok()) return std::move(outcome).error();

  int64_t version = snapshot->version;
  if (settings->persist) {
    const std::vector<llm::SessionTurn> turns = {{"user", *prompt},
                                                 {"assistant", outcome->conversation.last.text}};
    auto saved = services_->sessions().append(settings->name, turns, snapshot->version, scope.call);
    if (!saved.ok()) {
      if (saved.error().code == ErrorCode::kConflict) {
        return make_error(ErrorCode::kConflict,
                          what + " changed while this step ran (it read version " +
                              std::to_string(snapshot->version) + "); the answer was not saved");
      }
      return llm::not_the_providers_fault(saved.error(), what + ": saving the answer");
    }
    version = *saved;
  }
  Value result = llm::conversation_result(*outcome, services_->pricing());
  result["session"]["name"] = settings->name;
  result["session"]["version"] = version;
  result["session"]["history_turns"] = static_cast<int64_t>(snapshot->turns.size());
  result["session"]["saved"] = settings->persist;
  return result;
}

}  // namespace pl::worker
