// What an LLM step asks for, read from its bound input. Pure.
//
// Numbers may arrive as strings (a template renders "{{inputs.n}}" to "100"): integers accept
// an integer, an integral number or a decimal string; numbers accept any number or a numeric
// string. Anything else is kInvalidInput naming the key ("claude_options.max_tokens: expected an
// integer, got a list").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/value.h"

namespace pl::worker::llm {

struct CallSpec {
  std::string provider;  // "anthropic", "gemini", "openai" or "mock"
  std::string model;     // "" = the provider's default
  std::string system;
  std::optional<int64_t> max_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  int64_t max_turns = 0;  // 0 = the configured default
  std::vector<std::string> allowed_tools;
};

// claude_options of the claude step family: model, system_prompt (+ append_system_prompt after
// a blank line), max_turns, allowed_tools, max_tokens, temperature, top_p, top_k. Provider:
// anthropic. Other keys (agent options the loader warned about) are ignored.
Result<CallSpec> claude_call_spec(const Value& claude_options);

// A gemini or gemini_instructor step: model, token_budget {max_output_tokens, temperature,
// top_p, top_k}, system_prompt. Provider: gemini.
Result<CallSpec> gemini_call_spec(const Value& input);

// An llm step: provider (default `default_provider`), model, system_prompt, max_tokens,
// temperature, top_p, max_turns, allowed_tools.
Result<CallSpec> llm_call_spec(const Value& input, const std::string& default_provider);

}  // namespace pl::worker::llm
