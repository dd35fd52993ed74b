// The fake LLM APIs: answers in each provider's wire format, scripted by markers in the
// request body (normally written in the prompt).
//
// Routes:
//   POST /v1/messages                                 Anthropic (requires x-api-key and
//                                                     anthropic-version, else 401)
//   POST /v1beta/models/MODEL:generateContent         Gemini (requires x-goog-api-key, else 401)
//   POST .../chat/completions                         OpenAI-compatible (no key required)
//   GET  /__requests                                  every request so far, as a JSON list of
//                                                     {method, path, headers, body}
// Markers (the first "[[fake:...]]" in the body decides; none means ok):
//   [[fake:ok]]                  a text answer: "fake API answer from MODEL"; usage 11 in, 7 out
//   [[fake:cached:WRITE:READ]]   ok, with prompt-cache usage. Anthropic: besides the 11 input
//                                tokens WRITE more written to the prompt cache and READ read
//                                from it. OpenAI, Gemini: a prompt of 11 + READ tokens, READ of
//                                them cached (cached_tokens, cachedContentTokenCount)
//   [[fake:cached:WRITE:READ:H]] Anthropic: ... and H of the WRITE went to the 1-hour cache
//                                (usage.cache_creation)
//   [[fake:json]]                the text is {"answer": 42, "items": ["a", "b"]}
//   [[fake:tool]]                asks to call the first offered tool/function with
//                                {"query": "fake"}; once the request carries tool results,
//                                answers "tool said: RESULT"
//   [[fake:status:CODE]]         always CODE with the API's error body
//   [[fake:status:CODE:AFTER]]   ... and Retry-After: AFTER ("date" = an HTTP date 1 s ahead)
//   [[fake:fail:N:CODE:KEY]]     the first N requests with this marker fail with CODE (and
//                                Retry-After: 0), later ones succeed; KEY keeps tests apart
//   [[fake:retryinfo:SECS]]      429 whose body carries Gemini's RetryInfo retryDelay, no header
//   [[fake:cut]]                 a text answer cut at the output-token limit: {"answer": 4
//                                (stop_reason max_tokens, finishReason MAX_TOKENS,
//                                finish_reason length)
//   [[fake:cut_tool]]            like [[fake:tool]] (before tool results), but cut at the
//                                output-token limit inside the call: OpenAI's arguments are
//                                JSON text cut mid-value
//   [[fake:quota]]               OpenAI: 429 insufficient_quota (an account out of credits);
//                                others: 429 with their rate-limit body
//   [[fake:redirect]]            301 with Location: https://moved.example/v1 and an HTML body
//   [[fake:malformed]]           200 with a truncated JSON body
//   [[fake:wrongtype]]           200 with JSON of the wrong shape and types
//   [[fake:empty]]               200 with an empty body
//   [[fake:blocked]]             Gemini: a prompt blocked for SAFETY (others: ok)
//   [[fake:hang]]                200 headers promising a body, a few bytes, then silence
//   [[fake:silent]]              never answers
//   [[fake:close]]               closes the connection without answering
//   [[fake:slow:MS]]             answers ok after MS milliseconds
//   [[fake:big:BYTES]]           200 with a body of BYTES bytes
// Like the real Gemini API, a Gemini function declaration whose `parameters` (Gemini's OpenAPI
// subset) use JSON-Schema-only keywords (additionalProperties, $schema, $ref, $defs), or that
// sets both `parameters` and `parametersJsonSchema`, is refused with 400 INVALID_ARGUMENT.
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/value.h"
#include "tests/fakes/fake_http.h"

namespace pl::fakes {

class FakeLlm {
 public:
  HttpReply handle(const HttpRequestIn& request);

 private:
  HttpReply answer(const HttpRequestIn& request, const std::string& api, const std::string& model);

  std::mutex mutex_;
  std::map<std::string, int> failures_;  // per fail marker: failures served so far
  Value log_ = Value::array();
};

}  // namespace pl::fakes
