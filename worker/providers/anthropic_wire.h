// Anthropic Messages API: POST {base_url}/v1/messages with x-api-key and anthropic-version.
//
// Request: {model, max_tokens, system?, messages, tools?: [{name, description, input_schema}],
// tool_choice?: {type: any}, temperature?, top_p?, top_k?}. Assistant turns carry text and
// tool_use blocks; tool results go back as tool_result blocks in a user turn. max_tokens is
// required by the API: the endpoint's default fills it when the request has none.
// Response: content blocks (text, tool_use; others such as thinking are skipped), stop_reason,
// usage {input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
// cache_creation {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}}: the cache tokens count
// as input too, and are kept apart as well (Usage::cache_write_tokens, cache_write_1h_tokens,
// cache_read_tokens) to be priced at their own rates.
// stop_reason "refusal" is kStepFailed (refused()); "model_context_window_exceeded" is
// StopReason::kContextWindowExceeded. A tool_use block in an answer cut at max_tokens (or the
// context window) is kStepFailed (cut_in_tool_call()), never a call to run. An answer with no
// text and no tool calls is an error (empty_answer(): cut is kStepFailed, anything else
// server_error).
// Errors: {type: error, error: {type, message}}.
#pragma once

#include "worker/providers/wire_format.h"

namespace pl::worker::providers {

class AnthropicWire final : public WireFormat {
 public:
  std::string_view provider_name() const override { return "anthropic"; }
  Result<std::string> url(const Endpoint& endpoint, const CompletionRequest& request) const override;
  std::vector<std::pair<std::string, std::string>> headers(const Endpoint& endpoint) const override;
  std::string encode(const Endpoint& endpoint, const CompletionRequest& request) const override;
  Result<Completion> decode(std::string_view body, const CompletionRequest& request) const override;
  std::optional<Spent> billed(std::string_view body,
                              const CompletionRequest& request) const override;
  std::string error_detail(std::string_view body) const override;
};

}  // namespace pl::worker::providers
