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
    case StopReason::kContextWindowExceeded:
      return "context_window_exceeded";
    case StopReason::kOther:
      return "other";
  }
  return "other";
}

bool is_cut(StopReason reason) {
  return reason == StopReason::kMaxTokens || reason == StopReason::kContextWindowExceeded;
}

std::string_view cut_cause(StopReason reason) {
  if (reason == StopReason::kContextWindowExceeded) {
    return "cut where the model's context window ran out";
  }
  return "cut at the output-token limit";
}

std::string token_limit_text(std::optional<int64_t> max_tokens) {
  return max_tokens ? "max_tokens " + std::to_string(*max_tokens)
                    : "no max_tokens set: the provider's default";
}

std::string cut_remedy(StopReason reason) {
  if (reason == StopReason::kContextWindowExceeded) {
    return "shorten the prompt (or the conversation it continues)";
  }
  return "raise the step's max output tokens (max_tokens, or token_budget.max_output_tokens in a "
         "gemini step)";
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
