// claude_session's use of a session: its settings, and its turns as the conversation the
// model sees. Pure.
//
// session_config: session_name (required), persist (default true: the prompt and the answer
// are appended to the session after the call; false: the session is only read), max_turns (the
// most recent turns sent to the model as history; default from the worker's limits).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "worker/llm/session_store.h"
#include "worker/providers/provider.h"

namespace pl::worker::llm {

struct SessionSettings {
  std::string name;
  bool persist = true;
  int64_t history_turns = 0;
};

// kInvalidInput when session_config or its session_name is missing or mistyped.
Result<SessionSettings> read_session_settings(const Value& session_config, int64_t default_turns);

// Turns as alternating user/assistant messages starting with a user message, as the APIs
// require: leading assistant turns are dropped, consecutive turns of one role are joined with a
// blank line, empty turns and roles other than user/assistant are skipped.
std::vector<providers::Message> history_messages(const std::vector<SessionTurn>& turns);

}  // namespace pl::worker::llm
