#include "worker/llm/presets.h"

#include <string>

#include "common/text.h"

namespace pl::worker::llm {
namespace {

// clang-format off
constexpr Preset kPresets[] = {
    {"development", 20, 8192, std::nullopt,
     "You are a helpful development assistant. Focus on writing clean, maintainable code."},
    {"production", 10, 4096, 0.2,
     "You are a production assistant. Prioritize safety and reliability."},
    {"analysis", 5, 8192, 0.2,
     "You are a code analysis expert. Provide detailed, structured analysis with specific "
     "recommendations."},
    {"chat", 15, 2048, 0.7,
     "You are a helpful assistant. Provide clear, concise responses."},
    {"test", 3, 1024, 0.0,
     "You are a test assistant. Provide predictable, structured responses."},
};
// clang-format on

}  // namespace

std::optional<Preset> find_preset(std::string_view name) {
  for (const Preset& p : kPresets) {
    if (p.name == name) return p;
  }
  return std::nullopt;
}

Result<Value> apply_preset(const Value& claude_options, std::string_view preset_name) {
  auto preset = find_preset(preset_name);
  if (!preset) {
    std::vector<std::string> names;
    std::vector<std::string_view> views;
    for (const Preset& p : kPresets) {
      names.emplace_back(p.name);
      views.push_back(p.name);
    }
    return make_error(ErrorCode::kInvalidInput, "unknown preset \"" + std::string(preset_name) +
                                                    "\" (known: " + join(names, ", ") + ")" +
                                                    did_you_mean(preset_name, views));
  }
  Value out = claude_options.is_object() ? claude_options : Value::object();
  auto fill = [&](std::string_view key, Value v) {
    const Value* present = out.find(key);
    if (!present || present->is_null()) out[key] = std::move(v);
  };
  fill("max_turns", preset->max_turns);
  fill("max_tokens", preset->max_tokens);
  if (preset->temperature) fill("temperature", *preset->temperature);
  fill("system_prompt", std::string(preset->system_prompt));
  return out;
}

}  // namespace pl::worker::llm
