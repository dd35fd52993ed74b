#include "worker/llm/session_history.h"

#include <algorithm>

#include "common/json.h"
#include "worker/step_option.h"

namespace pl::worker::llm {
namespace {

constexpr int64_t kBytesPerAnswerToken = 4;
constexpr int64_t kTurnOverheadBytes = 256;  // the registry's time stamps, the usage object

Error wrong_value(std::string_view key, const Value& v, std::string_view expected) {
  return make_error(ErrorCode::kInvalidInput, "session_config." + std::string(key) +
                                                  ": expected " + std::string(expected) +
                                                  ", got " + to_json(v));
}

// session_config[key] as an integer of at least 1, or `fallback` when absent or null.
Result<int64_t> positive(const Value& config, std::string_view key, int64_t fallback) {
  const Value* v = config.find(key);
  if (!v || v->is_null()) return fallback;
  const std::optional<int64_t> n = option_integer(*v);
  if (!n || *n < 1) return wrong_value(key, *v, "an integer of at least 1");
  return *n;
}

}  // namespace

Result<SessionSettings> read_session_settings(const Value& config,
                                              const SessionDefaults& defaults) {
  if (!config.is_object()) {
    return make_error(ErrorCode::kInvalidInput, "a claude_session step needs `session_config`");
  }
  SessionSettings s;
  const Value* name = config.find("session_name");
  if (!name || !name->is_string() || name->as_string().empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "session_config.session_name must be a non-empty string");
  }
  s.name = name->as_string();
  if (const Value* persist = config.find("persist"); persist && !persist->is_null()) {
    const std::optional<bool> b = option_boolean(*persist);
    if (!b) return wrong_value("persist", *persist, "true or false");
    s.persist = *b;
  }
  auto max_turns = positive(config, "max_turns", 0);
  if (!max_turns.ok()) return std::move(max_turns).error();
  s.max_turns = *max_turns;
  auto history_bytes = positive(config, "history_bytes", defaults.history_bytes);
  if (!history_bytes.ok()) return std::move(history_bytes).error();
  s.history_bytes = *history_bytes;
  s.history_turns = s.max_turns > 0 ? s.max_turns : defaults.history_turns;
  if (s.history_turns < 1 || s.history_bytes < 1) {
    return make_error(ErrorCode::kInvalidInput,
                      "the worker's default session history must be at least 1 turn and 1 byte");
  }
  return s;
}

HistoryWindow history_window(const SessionSettings& settings) {
  return HistoryWindow{static_cast<size_t>(settings.history_turns),
                       static_cast<size_t>(settings.history_bytes)};
}

std::vector<providers::Message> history_messages(const std::vector<SessionMessage>& messages) {
  std::vector<providers::Message> out;
  for (const SessionMessage& m : messages) {
    const std::string text = m.content.is_string() ? m.content.as_string() : to_json(m.content);
    if (text.empty()) continue;
    providers::Role role;
    if (m.role == "user") {
      role = providers::Role::kUser;
    } else if (m.role == "assistant") {
      role = providers::Role::kAssistant;
    } else {
      continue;
    }
    if (out.empty() && role == providers::Role::kAssistant) continue;
    if (!out.empty() && out.back().role == role) {
      out.back().text += "\n\n" + text;
      continue;
    }
    out.push_back(role == providers::Role::kUser ? providers::Message::user(text)
                                                 : providers::Message::assistant(text));
  }
  // The prompt comes next as a user message: a question left without an answer before it would
  // make two user messages in a row, which the APIs refuse.
  if (!out.empty() && out.back().role == providers::Role::kUser) out.pop_back();
  return out;
}

const SessionTurn* turn_saved_for(const Session& session, std::string_view origin,
                                  std::string_view prompt) {
  if (origin.empty()) return nullptr;
  // Item ids are unique within a run (they hold the run id and the item's path, loop indices
  // included), so a turn with this origin is this item's own, even if others followed it. Only
  // its newest counts: an older one answered what the item asked before its input changed.
  for (auto turn = session.turns.rbegin(); turn != session.turns.rend(); ++turn) {
    if (turn->origin != origin) continue;
    return role_text(*turn, "user") == prompt ? &*turn : nullptr;
  }
  return nullptr;
}

std::string role_text(const SessionTurn& turn, std::string_view role) {
  std::string text;
  for (const SessionMessage& m : turn.messages) {
    if (m.role != role) continue;
    if (!text.empty()) text += "\n\n";
    text += m.content.is_string() ? m.content.as_string() : to_json(m.content);
  }
  return text;
}

std::optional<Error> session_full(const Session& session, const SessionSettings& settings) {
  // The step's own limit wins when given and not below the session's: its append raises the
  // session's limit (docs/registry.md), so only a lower session limit with no step limit binds.
  int64_t limit = settings.max_turns;
  std::string whose = "the step's session_config.max_turns";
  if (limit == 0 && session.info.max_turns > 0) {
    limit = session.info.max_turns;
    whose = "its own max_turns";
  }
  if (limit == 0 || session.info.version < limit) return std::nullopt;
  return make_error(ErrorCode::kTooLarge,
                    "session \"" + settings.name + "\" holds " +
                        std::to_string(session.info.version) + " turns, the most " + whose +
                        " (" + std::to_string(limit) +
                        ") allows; the model was not called (give the step a higher "
                        "session_config.max_turns, which raises the session's own, or start "
                        "another session)");
}

std::vector<SessionMessage> turn_messages(const std::string& prompt, const std::string& answer,
                                          const TokenUsage& usage) {
  return {SessionMessage{"user", Value(prompt), std::nullopt, 0},
          SessionMessage{"assistant", Value(answer), usage, 0}};
}

int64_t answer_reserve_bytes(int64_t max_tokens) {
  return kBytesPerAnswerToken * std::max<int64_t>(0, max_tokens) + kTurnOverheadBytes;
}

std::optional<Error> turn_too_large(const SessionSettings& settings, const std::string& prompt,
                                    int64_t reserve, int64_t max_turn_bytes) {
  if (max_turn_bytes <= 0) return std::nullopt;
  Value list = Value::array();
  for (const SessionMessage& m : turn_messages(prompt, "", {})) list.push_back(to_value(m));
  const int64_t bytes = static_cast<int64_t>(to_json(list).size()) + reserve;
  if (bytes <= max_turn_bytes) return std::nullopt;
  return make_error(ErrorCode::kTooLarge,
                    "session \"" + settings.name + "\": the prompt makes a turn of " +
                        std::to_string(bytes) + " bytes with " + std::to_string(reserve) +
                        " kept for the answer, over the registry's max_turn_bytes of " +
                        std::to_string(max_turn_bytes) +
                        "; the model was not called (shorten the prompt or claude_options."
                        "max_tokens, or raise registry.max_turn_bytes)");
}

}  // namespace pl::worker::llm
