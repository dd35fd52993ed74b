#include "worker/executors/claude_session_executor.h"

#include "worker/llm/blame.h"
#include "worker/llm/llm_call.h"
#include "worker/llm/session_history.h"

namespace pl::worker {
namespace {

Value session_member(const llm::SessionSettings& settings, int64_t version,
                     const Session& session) {
  Value v;
  v["name"] = settings.name;
  v["version"] = version;
  v["history_turns"] = static_cast<int64_t>(session.turns.size());
  v["saved"] = settings.persist;
  return v;
}

// The result of an item whose answer an earlier attempt saved: the saved answer, no new call.
// The cost is unknown here (the turn does not record the model), so it is null, not 0.
Value reused_result(const llm::SessionSettings& settings, const Session& session,
                    const SessionTurn& turn, const llm::PricingTable& pricing) {
  const TokenUsage tokens = turn.usage();
  providers::Usage usage;
  usage.input_tokens = tokens.input_tokens;
  usage.output_tokens = tokens.output_tokens;
  Value result;
  result["text"] = llm::assistant_text(turn);
  result["usage"] = llm::usage_value(usage, "", "anthropic", false, pricing);
  result["session"] = session_member(settings, session.info.version, session);
  result["session"]["reused_turn"] = turn.index;
  return result;
}

}  // namespace

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

  auto session = services_->sessions().load(
      settings->name, static_cast<size_t>(settings->history_turns), scope.call);
  if (!session.ok()) return llm::not_the_providers_fault(session.error(), what);
  if (settings->persist) {
    if (const SessionTurn* saved = llm::turn_appended_by(*session, item.item_id)) {
      return reused_result(*settings, *session, *saved, services_->pricing());
    }
    if (auto full = llm::session_full(*session, *settings)) return *full;
  }

  llm::ClaudeCall call;
  call.claude_options = llm::member_or_null(input, "claude_options");
  call.history = llm::history_messages(session->messages());
  auto outcome = llm::run_claude_call(*services_, scope, call, *prompt);
  if (!outcome.ok()) return std::move(outcome).error();

  int64_t version = session->info.version;
  if (settings->persist) {
    const providers::Usage& spent = outcome->conversation.usage;
    TurnAppend turn;
    turn.session = settings->name;
    turn.expected_version = version;
    turn.create = version == 0;
    turn.max_turns = settings->max_turns;
    turn.origin = item.item_id;
    turn.messages = {SessionMessage{"user", Value(*prompt), std::nullopt, 0},
                     SessionMessage{"assistant", Value(outcome->conversation.last.text),
                                    TokenUsage{spent.input_tokens, spent.output_tokens}, 0}};
    auto saved = services_->sessions().append(turn, scope.call);
    if (!saved.ok()) {
      if (saved.error().code == ErrorCode::kConflict) {
        return make_error(ErrorCode::kConflict,
                          what + " changed while this step ran (it read version " +
                              std::to_string(version) + "); the answer was not saved");
      }
      return llm::not_the_providers_fault(saved.error(), what + ": saving the answer");
    }
    version = *saved;
  }
  Value result = llm::conversation_result(*outcome, services_->pricing());
  result["session"] = session_member(*settings, version, *session);
  return result;
}

}  // namespace pl::worker
