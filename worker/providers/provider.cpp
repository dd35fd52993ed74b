#include "worker/providers/provider.h"

namespace pl::worker::providers {

Message Message::user(std::string text) {
  Message m;
  m.role = Role::kUser;
  m.text = std::move(text);
  return m;
}

Message Message::assistant(std::string text, std::vector<ToolCall> calls) {
  Message m;
  m.role = Role::kAssistant;
  m.text = std::move(text);
  m.tool_calls = std::move(calls);
  return m;
}

Message Message::results(std::vector<ToolResult> results) {
  Message m;
  m.role = Role::kUser;
  m.tool_results = std::move(results);
  return m;
}

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kEndTurn:
      return "end_turn";
    case StopReason::kToolUse:
      return "tool_use";
    case StopReason::kMaxTokens:
      return "max_tokens";
    case StopReason::kOther:
      return "other";
  }
  return "other";
}

Usage& Usage::operator+=(const Usage& other) {
  input_tokens += other.input_tokens;
  output_tokens += other.output_tokens;
  cache_write_tokens += other.cache_write_tokens;
  cache_read_tokens += other.cache_read_tokens;
  cache_write_1h_tokens += other.cache_write_1h_tokens;
  estimated = estimated || other.estimated;
  return *this;
}

}  // namespace pl::worker::providers
