// claude_session's use of a session: its settings, its turns as the conversation the model
// sees, and the checks made before paying for a call. Pure.
//
// session_config: session_name (required); persist (default true: the prompt and the answer
// are appended to the session as one turn after the call; false: the session is only read);
// max_turns (the most turns the session may hold — the registry refuses an append past it, and
// the step fails before calling the model when the session is full — and the most recent turns
// sent as history; without it, the session's own limit applies and the worker's default number
// of turns is sent).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/registry/session.h"
#include "common/result.h"
#include "common/value.h"
#include "worker/providers/provider.h"

namespace pl::worker::llm {

struct SessionSettings {
  std::string name;
  bool persist = true;
  int64_t max_turns = 0;  // 0: not given
  int64_t history_turns = 0;
};

// kInvalidInput when session_config or its session_name is missing or mistyped.
Result<SessionSettings> read_session_settings(const Value& session_config, int64_t default_turns);

// Messages as alternating user/assistant messages starting with a user message, as the APIs
// require: leading assistant messages are dropped, consecutive messages of one role are joined
// with a blank line, empty messages and roles other than user/assistant are skipped.
std::vector<providers::Message> history_messages(const std::vector<SessionMessage>& messages);

// The newest of the loaded turns that `origin` (a work item id) appended: the item ran before,
// its answer was saved, and its result was lost (the worker died, or the broker gave up
// waiting). Its answer is reused instead of paying for the call again. nullptr when none.
const SessionTurn* turn_appended_by(const Session& session, std::string_view origin);

// The text of a turn's assistant messages, joined by blank lines.
std::string assistant_text(const SessionTurn& turn);

// kTooLarge when the session already holds as many turns as `settings.max_turns` or its own
// max_turns allow: another turn could not be saved, so the call must not be paid for.
std::optional<Error> session_full(const Session& session, const SessionSettings& settings);

}  // namespace pl::worker::llm
