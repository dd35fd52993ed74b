#include "worker/llm/session_history.h"

#include "common/json.h"

namespace pl::worker::llm {

Result<SessionSettings> read_session_settings(const Value& config, int64_t default_turns) {
  if (!config.is_object()) {
    return make_error(ErrorCode::kInvalidInput, "a claude_session step needs `session_config`");
  }
  SessionSettings s;
  const Value* name = config.find("session_name");
  if (!name || !name->is_string() || name->as_string().empty()) {
    return make_error(ErrorCode::kInvalidInput, "session_config.session_name must be a non-empty string");
  }
  s.name = name->as_string();
  if (const Value* persist = config.find("persist"); persist && !persist->is_null()) {
    if (!persist->is_bool()) return make_error(ErrorCode::kInvalidInput, "session_config.persist must be true or false");
    s.persist = persist->as_bool();
  }
  if (const Value* max_turns = config.find("max_turns"); max_turns && !max_turns->is_null()) {
    if (!max_turns->is_int() || max_turns->as_int() < 1) {
      return make_error(ErrorCode::kInvalidInput, "session_config.max_turns must be an integer of at least 1");
    }
    s.max_turns = max_turns->as_int();
  }
  s.history_turns = s.max_turns > 0 ? s.max_turns : default_turns;
  if (s.history_turns < 1) {
    return make_error(ErrorCode::kInvalidInput, "the worker's default session turns must be at least 1");
  }
  return s;
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
  return out;
}

const SessionTurn* turn_appended_by(const Session& session, std::string_view origin) {
  if (origin.empty()) return nullptr;
  // Item ids are unique within a run (they hold the run id and the item's path, loop indices
  // included), so a turn with this origin is this item's own, even if others followed it.
  for (auto turn = session.turns.rbegin(); turn != session.turns.rend(); ++turn) {
    if (turn->origin == origin) return &*turn;
  }
  return nullptr;
}

std::string assistant_text(const SessionTurn& turn) {
  std::string text;
  for (const SessionMessage& m : turn.messages) {
    if (m.role != "assistant") continue;
    if (!text.empty()) text += "\n\n";
    text += m.content.is_string() ? m.content.as_string() : to_json(m.content);
  }
  return text;
}

std::optional<Error> session_full(const Session& session, const SessionSettings& settings) {
  int64_t limit = settings.max_turns;
  std::string whose = "the step's session_config.max_turns";
  if (session.info.max_turns > 0 && (limit == 0 || session.info.max_turns < limit)) {
    limit = session.info.max_turns;
    whose = "its own max_turns";
  }
  if (limit == 0 || session.info.version < limit) return std::nullopt;
  return make_error(ErrorCode::kTooLarge,
                    "session \"" + settings.name + "\" holds " +
                        std::to_string(session.info.version) + " turns, the most " + whose +
                        " (" + std::to_string(limit) +
                        ") allows; the model was not called (start another session, or raise "
                        "max_turns)");
}

}  // namespace pl::worker::llm
