// How one HTTP API spells a completion: its URL, its auth headers, the request body, the
// response body and its error bodies. Pure: no I/O, so each format is tested on strings.
//
// decode() never trusts the body: a body that is not JSON, has the wrong shape or the wrong
// types is a kProviderError that says which field was wrong, never a crash and never a silently
// empty answer. An answer with neither text nor tool calls is an error (see empty_answer());
// content the provider refused or filtered is kStepFailed (see refused()).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "worker/providers/provider.h"
#include "worker/providers/spent.h"

namespace pl::worker::providers {

// What a format needs to know about its endpoint.
struct Endpoint {
  std::string base_url;  // without a trailing slash
  std::string api_key;   // "" when the server takes none (a local OpenAI-compatible server)
  std::string version;   // Anthropic's anthropic-version header
  int64_t default_max_tokens = 4096;
};

class WireFormat {
 public:
  virtual ~WireFormat() = default;
  // "anthropic", "gemini", "openai".
  virtual std::string_view provider_name() const = 0;
  // The URL to POST to. kInvalidInput when the request cannot be addressed (a model name with
  // characters that do not belong in a URL path).
  virtual Result<std::string> url(const Endpoint& endpoint, const CompletionRequest& request) const = 0;
  // Content type, auth and version headers. The key goes in a header, never in the URL.
  virtual std::vector<std::pair<std::string, std::string>> headers(const Endpoint& endpoint) const = 0;
  virtual std::string encode(const Endpoint& endpoint, const CompletionRequest& request) const = 0;
  // A 2xx body as a Completion (provider, model, text, tool calls, stop reason, usage).
  virtual Result<Completion> decode(std::string_view body, const CompletionRequest& request) const = 0;
  // What a 2xx body that decode() refused was billed, when it holds a readable usage block: an
  // answer refused, blocked or cut is paid for all the same (spent.h).
  virtual std::optional<Spent> billed(std::string_view body,
                                      const CompletionRequest& request) const = 0;
  // The provider's own words for an error body: "rate_limit_error: Too many requests". Falls
  // back to a short, printable prefix of the body.
  virtual std::string error_detail(std::string_view body) const = 0;
  // A wait the error body asks for (Gemini's RetryInfo), when the headers give none.
  virtual std::optional<Duration> retry_hint(std::string_view body) const;
  // Whether an error answer says the account is out of quota for good (OpenAI's 429
  // insufficient_quota: out of credits or at its spend limit), not that it is sending too fast:
  // no retry can succeed until someone acts. False unless a format knows such an answer.
  virtual bool quota_exhausted(long status, std::string_view body) const;
};

// Helpers the formats share.

// A short, single-line, printable excerpt of an untrusted body for error messages.
std::string body_excerpt(std::string_view body, size_t max_chars = 200);

// Whether `model` may be placed in a URL path segment: letters, digits, '.', '_', '-', ':'.
bool is_plain_model_name(std::string_view model);

// billed() of a format whose body is a JSON object with the usage block at `usage_key`, read by
// `read_usage`, and the model at `model_key` (the request's when absent).
std::optional<Spent> billed_usage(std::string_view body, const CompletionRequest& request,
                                  std::string_view provider, std::string_view usage_key,
                                  std::string_view model_key,
                                  Result<Usage> (*read_usage)(const Value&));

// Usage counted from text length (about 4 characters per token), for providers that report
// none. Marked estimated.
Usage estimate_usage(const CompletionRequest& request, std::string_view answer);

// A token count in a usage object: `parent[key]`, 0 when absent or null; a value that is not a
// non-negative integer is malformed(), named as `at` + `key` ("usage.prompt_tokens").
Result<int64_t> usage_count(std::string_view provider, const Value& parent, std::string_view key,
                            std::string_view at);

// "anthropic: malformed response: <what>" as a kProviderError.
Error malformed(std::string_view provider, std::string_view what);

// Why an answer with neither text nor tool calls came back, by the provider's own stop reason
// (`field` names it: "stop_reason", "finishReason", "finish_reason"; `stop` is what it means):
//   is_cut(stop)     kStepFailed: the output-token limit (or the context window) was reached
//                    before any text (a thinking model can spend it all on thoughts); the same
//                    request would fail again, so the message says what to change.
//   otherwise        kProviderError (server_error, retryable), naming the reason.
Error empty_answer(std::string_view provider, std::string_view field, std::string_view reason,
                   StopReason stop, const CompletionRequest& request);

// kStepFailed for an answer that was cut (is_cut(stop)) while it held tool calls: their
// arguments may be incomplete (OpenAI's are JSON text cut mid-value), so none may run. The
// same request would be cut again: the message says so and what to change ("openai: the answer
// was cut at the output-token limit inside a tool call (finish_reason length) with max_tokens
// 1024, so no tool was run: its arguments may be incomplete; raise the step's max_tokens
// ..."). Decoders check for this before they read the calls' arguments.
// REQUIRES: is_cut(stop).
Error cut_in_tool_call(std::string_view provider, std::string_view field, std::string_view reason,
                       StopReason stop, const CompletionRequest& request);

// kStepFailed for an answer the provider refused or filtered ("anthropic: the model refused to
// answer (stop_reason refusal)"): the content is at fault, not the provider, so it is neither
// retried nor counted against the provider's circuit breaker. Any partial text is dropped.
Error refused(std::string_view provider, std::string_view what, std::string_view field,
              std::string_view reason);

}  // namespace pl::worker::providers
