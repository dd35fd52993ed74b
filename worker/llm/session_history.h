// claude_session's use of a session: its settings, its turns as the conversation the model
// sees, and the checks made before paying for a call. Pure.
//
// session_config: session_name (required); persist (default true: the prompt and the answer
// are appended to the session as one turn after the call; false: the session is only read);
// max_turns (the most turns the session may hold — the registry refuses an append past it, and
// the step fails before calling the model when the session is full; a step with a higher
// max_turns than the session's own raises the session's — and the most recent turns sent as
// history; without it, the session's own limit applies and the worker's default number of
// turns is sent); history_bytes (the most bytes of turns sent as history, the newest that fit;
// default the worker's). Numbers and booleans may arrive as text (a rendered "{{inputs.n}}").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/registry/session.h"
#include "common/result.h"
#include "common/value.h"
#include "worker/llm/session_store.h"
#include "worker/providers/provider.h"

namespace pl::worker::llm {

struct SessionSettings {
  std::string name;
  bool persist = true;
  int64_t max_turns = 0;  // 0: not given
  int64_t history_turns = 0;
  int64_t history_bytes = 0;
};

// The worker's defaults for what session_config leaves out.
struct SessionDefaults {
  int64_t history_turns = 50;
  int64_t history_bytes = 512 * 1024;
};

// kInvalidInput when session_config or its session_name is missing, or a value is mistyped
// ("session_config.max_turns: expected an integer of at least 1, got \"three\"").
Result<SessionSettings> read_session_settings(const Value& session_config,
                                              const SessionDefaults& defaults);

// The turns to read as history: the step's last history_turns, within history_bytes.
HistoryWindow history_window(const SessionSettings& settings);

// Messages as alternating user/assistant messages starting with a user message and ending with
// an assistant message, as the APIs require once the prompt follows as the next user message:
// leading assistant messages are dropped, consecutive messages of one role are joined with a
// blank line, a trailing user message (a question saved without an answer) is dropped, empty
// messages and roles other than user/assistant are skipped.
std::vector<providers::Message> history_messages(const std::vector<SessionMessage>& messages);

// The turn this work item saved for this very prompt: the newest of the loaded turns that
// `origin` (a work item id) appended, when its user message is `prompt`. The item ran before,
// its answer was saved, and its result was lost (the worker died, or the broker gave up
// waiting): its answer is reused instead of paying for the call again. nullptr when there is
// none, or when the item's newest turn holds another prompt (a resumed run re-runs an item
// whose input changed: that is a new question, which gets a new turn).
const SessionTurn* turn_saved_for(const Session& session, std::string_view origin,
                                  std::string_view prompt);

// The text of a turn's messages of `role`, joined by blank lines.
std::string role_text(const SessionTurn& turn, std::string_view role);
inline std::string assistant_text(const SessionTurn& turn) { return role_text(turn, "assistant"); }

// kTooLarge when another turn could not be saved, so the call must not be paid for: the
// session holds as many turns as the step's max_turns allows, or — when the step gives none or
// a lower one than the session's own (a higher one raises it) — as its own max_turns allows.
std::optional<Error> session_full(const Session& session, const SessionSettings& settings);

// The messages of the turn a step saves: the prompt, then the answer with its usage.
std::vector<SessionMessage> turn_messages(const std::string& prompt, const std::string& answer,
                                          const TokenUsage& usage);

// Bytes kept free in a turn for the answer: 4 bytes per token of `max_tokens` (the most the
// model may answer), plus room for the usage and times the registry adds.
int64_t answer_reserve_bytes(int64_t max_tokens);

// kTooLarge when a turn with `prompt` and an answer of `reserve` bytes would be over
// `max_turn_bytes` (0: unknown, no check), so the step fails before the model is called.
std::optional<Error> turn_too_large(const SessionSettings& settings, const std::string& prompt,
                                    int64_t reserve, int64_t max_turn_bytes);

}  // namespace pl::worker::llm
