// Google Gemini API: POST {base_url}/v1beta/models/{model}:generateContent with x-goog-api-key
// (the key stays out of the URL, so it never appears in a message or a log).
//
// Request: {contents: [{role: user|model, parts}], systemInstruction?, tools?:
// [{functionDeclarations: [{name, description, parametersJsonSchema?}]}] (the tool's JSON Schema
// as is, whenever it is not empty, with `properties` or without; `parameters` would take only
// Gemini's OpenAPI subset), toolConfig? (mode ANY for
// ToolChoice::kAny), generationConfig? {maxOutputTokens, temperature, topP, topK,
// responseMimeType}}. Tool results go back as functionResponse parts {name, response: {result}}
// or {name, response: {error}}; a result that is JSON text is sent as JSON.
// Response: candidates[0].content.parts (text, functionCall; thought parts skipped),
// finishReason, usageMetadata {promptTokenCount, cachedContentTokenCount (the part of the prompt
// read from a cache), candidatesTokenCount, thoughtsTokenCount} (thoughts count as output),
// modelVersion. Function calls with finishReason MAX_TOKENS are kStepFailed
// (cut_in_tool_call()). A blocked prompt or answer (promptFeedback
// .blockReason, a SAFETY-like finishReason, partial content or not) is kStepFailed: the content,
// not the provider, is at fault. An answer with no text and no calls is an error (empty_answer():
// MAX_TOKENS is kStepFailed, anything else server_error). Function calls without an id get
// "call_<n>".
// Errors: {error: {code, message, status, details}}; a RetryInfo detail's retryDelay is a
// retry hint.
#pragma once

#include "worker/providers/wire_format.h"

namespace pl::worker::providers {

class GeminiWire final : public WireFormat {
 public:
  std::string_view provider_name() const override { return "gemini"; }
  Result<std::string> url(const Endpoint& endpoint, const CompletionRequest& request) const override;
  std::vector<std::pair<std::string, std::string>> headers(const Endpoint& endpoint) const override;
  std::string encode(const Endpoint& endpoint, const CompletionRequest& request) const override;
  Result<Completion> decode(std::string_view body, const CompletionRequest& request) const override;
  std::optional<Spent> billed(std::string_view body,
                              const CompletionRequest& request) const override;
  std::string error_detail(std::string_view body) const override;
  std::optional<Duration> retry_hint(std::string_view body) const override;
};

}  // namespace pl::worker::providers
