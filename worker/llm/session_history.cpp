#include "worker/llm/session_history.h"

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
  s.history_turns = config.get_int("max_turns", default_turns);
  if (s.history_turns < 1) {
    return make_error(ErrorCode::kInvalidInput, "session_config.max_turns must be at least 1");
  }
  return s;
}

std::vector<providers::Message> history_messages(const std::vector<SessionTurn>& turns) {
  std::vector<providers::Message> out;
  for (const SessionTurn& t : turns) {
    if (t.content.empty()) continue;
    providers::Role role;
    if (t.role == "user") {
      role = providers::Role::kUser;
    } else if (t.role == "assistant") {
      role = providers::Role::kAssistant;
    } else {
      continue;
    }
    if (out.empty() && role == providers::Role::kAssistant) continue;
    if (!out.empty() && out.back().role == role) {
      out.back().text += "\n\n" + t.content;
      continue;
    }
    out.push_back(role == providers::Role::kUser ? providers::Message::user(t.content)
                                                 : providers::Message::assistant(t.content));
  }
  return out;
}

}  // namespace pl::worker::llm
