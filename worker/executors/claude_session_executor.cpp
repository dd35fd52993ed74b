#include "worker/executors/claude_session_executor.h"

#include "common/protocol/usage_sum.h"
#include "worker/llm/blame.h"
#include "worker/llm/call_spec.h"
#include "worker/llm/llm_call.h"
#include "worker/llm/session_history.h"

namespace pl::worker {
namespace {

// Room for the answer when the step sets no max_tokens: the providers' usual default
// (providers.anthropic.default_max_tokens).
constexpr int64_t kDefaultAnswerTokens = 4096;

// `saved`: the answer is in the session (false until the registry has acknowledged it, and
// for a step that does not persist).
Value session_member(const llm::SessionSettings& settings, int64_t version, const Session& session,
                     bool saved) {
  Value v;
  v["name"] = settings.name;
  v["version"] = version;
  v["history_turns"] = static_cast<int64_t>(session.turns.size());
  v["saved"] = saved;
  return v;
}

// The result of an item whose answer an earlier attempt saved: the saved answer. `spent` is
// what this attempt paid (a call whose own answer lost to the saved one; none when nothing was
// called), its `usage`. The turn's own tokens go beside it (kReusedUsageKey): the attempt that
// paid for them may have reported them already, which the broker knows and this worker does
// not. Costs are unknown (the turn does not record the model): null, not 0.
Value reused_result(const llm::SessionSettings& settings, const Session& session,
                    const SessionTurn& turn, const providers::Usage& spent,
                    const llm::PricingTable& pricing) {
  const TokenUsage tokens = turn.usage();
  Value result;
  result["text"] = llm::assistant_text(turn);
  if (spent.input_tokens > 0 || spent.output_tokens > 0) {
    result["usage"] = llm::usage_value(spent, "", "anthropic", false, pricing);
  }
  Value reused;
  reused["input_tokens"] = tokens.input_tokens;
  reused["output_tokens"] = tokens.output_tokens;
  reused["cost_usd"] = Value();
  result[protocol::kReusedUsageKey] = std::move(reused);
  result["session"] = session_member(settings, session.info.version, session, true);
  result["session"]["reused_turn"] = turn.index;
  return result;
}

// The session, or a new conversation (version 0, no turns) when it does not exist yet.
Result<Session> load_or_start(llm::SessionStore& store, const llm::SessionSettings& settings,
                              const providers::CallContext& call) {
  auto session = store.load(settings.name, llm::history_window(settings), call);
  if (session.ok() || session.error().code != ErrorCode::kNotFound) return session;
  Session fresh;
  fresh.info.name = settings.name;
  return fresh;
}

// Room the answer needs in the turn: claude_options.max_tokens, or the providers' default. A
// malformed max_tokens is left for the call itself to report.
int64_t answer_reserve(const Value& claude_options) {
  auto spec = llm::claude_call_spec(claude_options);
  const int64_t tokens = spec.ok() && spec->max_tokens ? *spec->max_tokens : kDefaultAnswerTokens;
  return llm::answer_reserve_bytes(tokens);
}

// Why the step must not pay for a call: the item's own answer is already saved (returned as a
// value), the session is full, or the turn could not be saved whatever the answer.
std::optional<Result<Value>> before_paying(const llm::LlmServices& services,
                                           const llm::SessionSettings& settings,
                                           const Session& session, const protocol::WorkItem& item,
                                           const std::string& prompt,
                                           const providers::CallContext& call) {
  if (!settings.persist) return std::nullopt;
  if (const SessionTurn* saved = llm::turn_saved_for(session, item.item_id, prompt)) {
    return reused_result(settings, session, *saved, {}, services.pricing());
  }
  if (auto full = llm::session_full(session, settings)) return Result<Value>(*full);
  auto max_bytes = services.sessions().max_turn_bytes(call);
  if (!max_bytes.ok()) {
    return Result<Value>(llm::not_the_providers_fault(
        max_bytes.error(), "session \"" + settings.name + "\": reading the registry's limits"));
  }
  const int64_t reserve = answer_reserve(llm::member_or_null(item.input, "claude_options"));
  if (auto big = llm::turn_too_large(settings, prompt, reserve, *max_bytes)) {
    return Result<Value>(*big);
  }
  return std::nullopt;
}

}  // namespace

ClaudeSessionExecutor::ClaudeSessionExecutor(std::shared_ptr<const llm::LlmServices> services)
    : services_(std::move(services)) {}

Result<Value> ClaudeSessionExecutor::execute(const protocol::WorkItem& item,
                                             const ExecutionContext& context) {
  const Value& input = item.input;
  const llm::LlmLimits& limits = services_->limits();
  auto settings = llm::read_session_settings(
      llm::member_or_null(input, "session_config"),
      {limits.default_session_turns, limits.default_session_history_bytes});
  if (!settings.ok()) return std::move(settings).error();
  const llm::ItemScope scope = llm::item_scope(item, context, *services_);
  auto prompt = llm::item_prompt(input, scope);
  if (!prompt.ok()) return std::move(prompt).error();

  auto session = load_or_start(services_->sessions(), *settings, scope.call);
  if (!session.ok()) {
    return llm::not_the_providers_fault(session.error(), "session \"" + settings->name + "\"");
  }
  if (auto stop = before_paying(*services_, *settings, *session, item, *prompt, scope.call)) {
    return std::move(*stop);
  }

  llm::ClaudeCall call;
  call.claude_options = llm::member_or_null(input, "claude_options");
  call.history = llm::history_messages(session->messages());
  auto outcome = llm::run_claude_call(*services_, scope, call, *prompt);
  if (!outcome.ok()) return std::move(outcome).error();
  Value result = llm::conversation_result(*outcome, services_->pricing());
  result["session"] = session_member(*settings, session->info.version, *session, false);
  if (!settings->persist) return result;
  return save_turn(*settings, *session, item, *prompt, *outcome, scope.call, std::move(result));
}

Result<Value> ClaudeSessionExecutor::save_turn(const llm::SessionSettings& settings,
                                               const Session& session,
                                               const protocol::WorkItem& item,
                                               const std::string& prompt,
                                               const llm::CallOutcome& outcome,
                                               const providers::CallContext& call,
                                               Value result) const {
  const std::string what = "session \"" + settings.name + "\"";
  const llm::Conversation& conversation = outcome.conversation;
  if (conversation.last.text.empty()) {
    // An empty answer would break the conversation's alternation for every later step; the
    // tool loop ran out of model calls before the model answered in text.
    return failed_result(
        std::move(result),
        make_error(ErrorCode::kStepFailed,
                   what + ": the model gave no text to save after " +
                       std::to_string(conversation.turns) + " model call(s)" +
                       (conversation.hit_max_turns ? " (claude_options.max_turns reached)" : "") +
                       "; nothing was saved (raise claude_options.max_turns)"));
  }
  const providers::Usage& spent = conversation.usage;
  TurnAppend turn;
  turn.session = settings.name;
  turn.expected_version = session.info.version;
  turn.create = session.info.version == 0;
  turn.max_turns = settings.max_turns;
  turn.origin = item.item_id;
  turn.messages = llm::turn_messages(prompt, conversation.last.text,
                                     TokenUsage{spent.input_tokens, spent.output_tokens});
  auto saved = services_->sessions().append(turn, call);
  if (saved.ok()) {
    result["session"]["version"] = *saved;
    result["session"]["saved"] = true;
    return result;
  }
  if (saved.error().code != ErrorCode::kConflict) {
    Error failed = llm::not_the_providers_fault(saved.error(), what + ": saving the answer");
    if (saved.error().code == ErrorCode::kUnavailable ||
        saved.error().code == ErrorCode::kTimeout) {
      // No answer is not a no: a registry that was paused may still apply the request it holds.
      failed.message +=
          "; the turn may be saved all the same if the registry got the request: a retry, or "
          "`pipelinectl runs resume`, then uses that turn instead of calling the model again";
      result[protocol::kAnswerMayBeSavedKey] = true;  // that retry's tokens are these
    }
    return failed_result(std::move(result), failed);
  }
  return after_conflict(settings, session.info.version, item, prompt, spent, call,
                        std::move(result));
}

Result<Value> ClaudeSessionExecutor::after_conflict(const llm::SessionSettings& settings,
                                                    int64_t read_version,
                                                    const protocol::WorkItem& item,
                                                    const std::string& prompt,
                                                    const providers::Usage& spent,
                                                    const providers::CallContext& call,
                                                    Value result) const {
  const std::string what = "session \"" + settings.name + "\"";
  // The turn that won may be this item's own: an earlier attempt (redelivered while it still
  // ran) saved its answer first. Then that answer is the item's, as on a redelivery.
  auto now = load_or_start(services_->sessions(), settings, call);
  if (now.ok()) {
    if (const SessionTurn* saved = llm::turn_saved_for(*now, item.item_id, prompt)) {
      return reused_result(settings, *now, *saved, spent, services_->pricing());
    }
  }
  return failed_result(std::move(result),
                       make_error(ErrorCode::kConflict,
                                  what + " changed while this step ran (it read version " +
                                      std::to_string(read_version) +
                                      "); the answer was not saved"));
}

}  // namespace pl::worker
