// Conversation sessions as the registry keeps them and its clients see them.
//
// A session is a named, ordered list of turns. A turn is what one step adds at once: one or more
// messages (typically the user's prompt and the assistant's answer). `version` is the number of
// turns; an append names the version it expects, so two writers cannot lose each other's turns.
//
// Value shapes (on the wire, in exports):
//   message: {role: user|assistant|system|tool, content: string | [blocks] | {..},
//             usage?: {input_tokens, output_tokens}, time_ms}
//   turn:    {index (1-based), time_ms, origin?, messages: [message]}
//   info:    {name, version, max_turns? (absent = no limit), created_ms, updated_ms,
//             usage: {input_tokens, output_tokens}}
//   session: info + {turns: [turn]}  (all turns, or the last N asked for)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/value.h"

namespace pl {

struct TokenUsage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;

  TokenUsage& operator+=(const TokenUsage& o) {
    input_tokens += o.input_tokens;
    output_tokens += o.output_tokens;
    return *this;
  }
  friend bool operator==(const TokenUsage&, const TokenUsage&) = default;
};

struct SessionMessage {
  std::string role;  // user | assistant | system | tool
  Value content;     // a string, or provider-shaped content blocks; never null
  std::optional<TokenUsage> usage;
  int64_t time_ms = 0;  // 0 on an append: the registry stamps the time it stored the turn
};

struct SessionTurn {
  int64_t index = 0;  // 1-based position; the session's version after this turn was added
  int64_t time_ms = 0;
  std::string origin;  // who appended it, as the append said (a work item id); may be ""
  std::vector<SessionMessage> messages;

  TokenUsage usage() const;
};

struct SessionInfo {
  std::string name;
  int64_t version = 0;    // number of turns
  int64_t max_turns = 0;  // 0 = no limit
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  TokenUsage usage;  // the sum over the session's turns
};

// One turn to append. REQUIRES: !messages.empty().
struct TurnAppend {
  std::string session;
  int64_t expected_version = 0;  // the session's version as the caller last saw it
  std::vector<SessionMessage> messages;
  int64_t max_turns = 0;  // 0 = only the session's own limit applies
  bool create = false;    // create the session when it does not exist (expected_version 0)
  std::string origin;     // stored with the turn: who appended it (e.g. the work item id)
  std::string id;         // idempotency id; "" = a fresh one for this call
};

struct Session {
  SessionInfo info;
  std::vector<SessionTurn> turns;  // ascending by index

  // Every message of `turns` in order: the history a provider is given.
  std::vector<SessionMessage> messages() const;
};

inline constexpr size_t kMaxSessionName = 200;  // bytes
// 1..kMaxSessionName bytes of well-formed UTF-8, no control characters.
bool is_valid_session_name(std::string_view name);
// Whether `role` is one of user, assistant, system, tool.
bool is_valid_role(std::string_view role);

Value to_value(const TokenUsage& u);
Value to_value(const SessionMessage& m);
Value to_value(const SessionTurn& t);
Value to_value(const SessionInfo& i);
Value to_value(const Session& s);

// Reads a list of messages (an append's "messages"). kInvalidInput names the place:
// "messages[1].role: \"bot\" is not one of user, assistant, system, tool".
Result<std::vector<SessionMessage>> session_messages_from(const Value& list,
                                                         std::string_view where = "messages");
Result<SessionTurn> session_turn_from(const Value& v);
Result<SessionInfo> session_info_from(const Value& v);
Result<Session> session_from(const Value& v);

}  // namespace pl
