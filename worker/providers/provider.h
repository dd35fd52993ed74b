// The provider seam: one completion from an LLM, whatever API serves it.
//
// A CompletionRequest is a conversation (system text, user/assistant messages, tool calls and
// tool results) plus the tools the model may call and the sampling options. A Completion is the
// model's answer: text, tool calls, why it stopped, token usage. Implementations: HttpProvider
// (Anthropic Messages, Gemini generateContent, OpenAI-compatible chat/completions, chosen by a
// WireFormat) and MockProvider (deterministic, no network).
//
// Thread safety: complete() is called from several slot threads at once; implementations keep
// no per-call state in members.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/value.h"
#include "worker/cancel_token.h"

namespace pl::worker::providers {

// The bounds of one call: it must be over by `deadline`, and stop soon after `cancel` fires.
struct CallContext {
  TimePoint deadline;
  const CancelToken* cancel = nullptr;  // nullptr: cannot be cancelled

  bool cancelled() const { return cancel && cancel->cancelled(); }
};

// A tool the model may call: its name, what it does, and a JSON Schema for its arguments.
struct ToolSpec {
  std::string name;
  std::string description;
  Value input_schema;  // an object schema; {type: object} when the tool takes nothing
};

// A call the model asked for. `id` pairs it with its result (providers without ids get
// synthesized ones). `arguments` is always a JSON object.
struct ToolCall {
  std::string id;
  std::string name;
  // A JSON object, or, when the model sent something else (malformed JSON text, a string, a
  // number), that as it came: the tool loop then answers the call as failed, and the model may
  // try again; it is the model's mistake, not the provider's.
  Value arguments;
  std::string signature;  // opaque; Gemini's thoughtSignature, sent back with the call
};

// What running a ToolCall gave, as sent back to the model.
struct ToolResult {
  std::string call_id;
  std::string name;     // the tool's name (Gemini pairs results by name)
  std::string content;  // text or JSON text
  bool is_error = false;
};

enum class Role { kUser, kAssistant };

// One turn of the conversation. A user message carries text or tool results; an assistant
// message carries text and/or tool calls.
struct Message {
  Role role = Role::kUser;
  std::string text;
  std::vector<ToolCall> tool_calls;      // assistant messages only
  std::vector<ToolResult> tool_results;  // user messages only

  static Message user(std::string text);
  static Message assistant(std::string text, std::vector<ToolCall> calls = {});
  static Message results(std::vector<ToolResult> results);
};

// Whether and how the model must use the tools offered.
enum class ToolChoice {
  kAuto,  // the model decides
  kAny,   // the model must call one of the tools (structured output)
};

struct CompletionRequest {
  std::string model;  // REQUIRES: non-empty (executors fill in the provider's default)
  std::string system;
  std::vector<Message> messages;  // REQUIRES: non-empty, first is a user message
  std::vector<ToolSpec> tools;
  ToolChoice tool_choice = ToolChoice::kAuto;
  std::optional<int64_t> max_tokens;  // providers that require it use their configured default
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  // The caller wants a JSON value back. APIs with a JSON mode are asked for it (Gemini
  // responseMimeType, OpenAI response_format); the mock answers with JSON.
  bool json_output = false;
};

enum class StopReason {
  kEndTurn,                // the model finished
  kToolUse,                // the model wants tool results
  kMaxTokens,              // cut at the output-token limit (max_tokens)
  kContextWindowExceeded,  // cut where the model's context window ran out (Anthropic)
  kOther,                  // anything else (stop sequence, safety, ...); see stop_detail
};

// "end_turn", "tool_use", "max_tokens", "context_window_exceeded", "other".
std::string_view stop_reason_name(StopReason reason);

// Whether an answer that stopped for `reason` was cut off before its end (kMaxTokens,
// kContextWindowExceeded): its text may end mid-sentence, its tool calls may lack arguments.
bool is_cut(StopReason reason);

// How an answer was cut, for messages: "cut at the output-token limit" or "cut where the
// model's context window ran out". REQUIRES: is_cut(reason).
std::string_view cut_cause(StopReason reason);
// The output-token limit a request set, for messages: "max_tokens 1024", or "no max_tokens
// set: the provider's default" for nullopt.
std::string token_limit_text(std::optional<int64_t> max_tokens);
// What the user can do about it: "raise the step's max output tokens (...)" or "shorten the
// prompt (...)". REQUIRES: is_cut(reason).
std::string cut_remedy(StopReason reason);

struct Usage {
  int64_t input_tokens = 0;  // every token of the prompt, cache writes and reads included
  int64_t output_tokens = 0;
  // Of input_tokens, those written to the provider's prompt cache (Anthropic only) and those
  // read from it (Anthropic's cache reads, OpenAI's cached_tokens, Gemini's
  // cachedContentTokenCount), which are billed at other rates than the rest
  // (llm::PricingTable::cost_usd).
  int64_t cache_write_tokens = 0;
  int64_t cache_read_tokens = 0;
  // Of cache_write_tokens, those written to Anthropic's 1-hour cache, billed higher than the
  // 5-minute cache's.
  int64_t cache_write_1h_tokens = 0;
  bool estimated = false;  // the provider reported none; counted from text length

  Usage& operator+=(const Usage& other);
};

struct Completion {
  std::string provider;  // "anthropic", "gemini", "openai" or "mock"
  std::string model;     // as the provider reports it, else as requested
  std::string text;      // all text blocks joined
  std::vector<ToolCall> tool_calls;
  StopReason stop_reason = StopReason::kEndTurn;
  std::string stop_detail;  // the provider's own word ("end_turn", "STOP", "length", ...)
  Usage usage;
  bool mock = false;
};

class Provider {
 public:
  virtual ~Provider() = default;
  // "anthropic", "gemini", "openai" or "mock".
  virtual std::string_view name() const = 0;
  // One model call. Errors name the provider and say what failed; their codes follow
  // common/result.h: kRateLimited (429), kProviderError (5xx, unreadable response),
  // kUnavailable (cannot connect), kTimeout (deadline or stalled response), kCancelled,
  // kInvalidInput (4xx: the request, key or model is wrong; a 3xx: the base URL is; an account
  // out of quota), kStepFailed (the provider refused the content, e.g. a safety block; or the
  // answer was cut at the output-token limit while it held tool calls).
  virtual Result<Completion> complete(const CompletionRequest& request, const CallContext& call) = 0;
};

}  // namespace pl::worker::providers
