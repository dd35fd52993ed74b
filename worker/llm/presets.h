// Option presets for claude_smart (default preset: development) and claude_extract (default:
// analysis), after pipeline_ex's OptionBuilder. A preset fills claude_options keys the step
// does not set; the step's own keys always win.
//
//   preset       max_turns  max_tokens  temperature  system_prompt (abridged)
//   development  20         8192        (provider's) "You are a helpful development assistant..."
//   production   10         4096        0.2          "You are a production assistant. Prioritize safety..."
//   analysis     5          8192        0.2          "You are a code analysis expert..."
//   chat         15         2048        0.7          "You are a helpful assistant. Provide clear, concise..."
//   test         3          1024        0.0          "You are a test assistant. Provide predictable..."
//
// Unlike pipeline_ex, presets grant no tools: its preset tool lists name Claude Code's built-in
// tools (Read, Write, Bash, ...), while tools here are the registry's and must be named in
// `allowed_tools`. Nor do presets set timeouts or retries: those are the step's `timeout` and
// `retry`.
#pragma once

#include <optional>
#include <string_view>

#include "common/result.h"
#include "common/value.h"

namespace pl::worker::llm {

struct Preset {
  std::string_view name;
  int64_t max_turns;
  int64_t max_tokens;
  std::optional<double> temperature;
  std::string_view system_prompt;
};

// The preset called `name`; nullopt when there is none.
std::optional<Preset> find_preset(std::string_view name);

// `claude_options` (a map or null) with the preset's values under the step's own. kInvalidInput
// for an unknown preset name, listing the known ones.
Result<Value> apply_preset(const Value& claude_options, std::string_view preset_name);

}  // namespace pl::worker::llm
