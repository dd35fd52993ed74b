// OpenAI-compatible chat completions: POST {base_url}/chat/completions, with
// "Authorization: Bearer KEY" when there is a key. The base URL includes the version segment,
// as OpenAI's own clients expect: https://api.openai.com/v1, http://localhost:8000/v1 (vLLM),
// http://localhost:8080/v1 (llama.cpp server), http://localhost:11434/v1 (Ollama).
//
// Request: {model, messages: [system?, user, assistant {content, tool_calls}, tool
// {tool_call_id, content}], tools?: [{type: function, function: {name, description,
// parameters}}], tool_choice? ("required" for ToolChoice::kAny), max_tokens?, temperature?,
// top_p?, top_k? (sent only when set; vLLM and llama.cpp accept it), response_format?
// {type: json_object} (json_output without tools)}. `max_tokens` rather than
// `max_completion_tokens`, since that is what the compatible servers read.
// Response: choices[0].message {content, tool_calls[].function {name, arguments: JSON text, or
// an object as some servers send}}, finish_reason, usage {prompt_tokens, completion_tokens,
// prompt_tokens_details.cached_tokens (the part of the prompt read from the cache)}.
// finish_reason "content_filter" or a message.refusal is kStepFailed (refused()); tool calls
// with finish_reason "length" are kStepFailed (cut_in_tool_call()), found before their cut
// arguments are parsed; an answer with no text and no tool calls is an error (empty_answer():
// length is kStepFailed, anything else server_error).
// Errors: {error: {message, type, code}} or {error: "text"} (llama.cpp, Ollama). A 429 with
// type or code insufficient_quota is an exhausted account, not a rate limit (quota_exhausted()).
#pragma once

#include "worker/providers/wire_format.h"

namespace pl::worker::providers {

class OpenAiWire final : public WireFormat {
 public:
  std::string_view provider_name() const override { return "openai"; }
  Result<std::string> url(const Endpoint& endpoint, const CompletionRequest& request) const override;
  std::vector<std::pair<std::string, std::string>> headers(const Endpoint& endpoint) const override;
  std::string encode(const Endpoint& endpoint, const CompletionRequest& request) const override;
  Result<Completion> decode(std::string_view body, const CompletionRequest& request) const override;
  std::optional<Spent> billed(std::string_view body,
                              const CompletionRequest& request) const override;
  std::string error_detail(std::string_view body) const override;
  // A 429 whose error type or code is insufficient_quota.
  bool quota_exhausted(long status, std::string_view body) const override;
};

}  // namespace pl::worker::providers
