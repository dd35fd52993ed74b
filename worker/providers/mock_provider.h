// The deterministic provider for demos and tests: no network, no key, no cost.
//
// Used when a provider has no key configured (it then stands in for that provider), when a
// step names provider `mock`, and by claude_robust's `mock_response` fallback. Every Completion
// it makes has provider "mock" and mock = true, so every step result it feeds says so.
//
// Answers (same request -> same answer, byte for byte):
//   - plain:      `[mock MODEL] reply to "PREVIEW" (#DIGEST)` where PREVIEW is the start of the
//                 latest user text on one line and DIGEST 8 hex digits of a hash of the request;
//   - json_output: a JSON object {"mock": true, "model", "digest", "reply": PREVIEW};
//   - after tool results: `[mock MODEL] tool results: NAME -> CONTENT; ...`.
// Directives, written anywhere in the latest user text (the prompt), let a test or demo script
// the conversation:
//   [[mock:call NAME {"arg": 1}]]  call tool NAME (when it is offered) with those arguments (a
//                                  JSON object without "]]" in it; omitted = {}); several
//                                  directives make several calls in one turn. Only on the turn
//                                  right after the prompt: once results came back, it answers.
//   [[mock:error CODE]]            fail with that error code (error_code_name spelling:
//                                  rate_limit, timeout, server_error, unavailable, ...).
//   [[mock:delay MS]]              wait MS milliseconds first (cancellable; kTimeout at the
//                                  deadline).
// With ToolChoice::kAny and no call directive it calls the first tool with arguments made from
// the tool's schema (schema_example), so structured-output steps get schema-shaped data.
// Usage is simulated from text length (about 4 characters per token).
#pragma once

#include "worker/providers/provider.h"

namespace pl::worker::providers {

class MockProvider final : public Provider {
 public:
  std::string_view name() const override { return "mock"; }
  Result<Completion> complete(const CompletionRequest& request, const CallContext& call) override;
};

// A value that satisfies simple JSON Schemas: objects get every listed property, strings their
// first enum value or "mock", integers their minimum or 1, numbers 1.5, booleans true, arrays
// one element. Depth-limited; anything unrecognised is null.
Value schema_example(const Value& schema);

// 16 hex digits of the 64-bit FNV-1a hash of `text`.
std::string fnv1a_hex(std::string_view text);

}  // namespace pl::worker::providers
