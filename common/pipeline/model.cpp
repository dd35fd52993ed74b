#include "common/pipeline/model.h"

#include <array>

namespace pl::pipeline {
namespace {

struct TypeName {
  StepType type;
  std::string_view name;
  bool canonical;
};

// Canonical names first; aliases after.
constexpr std::array<TypeName, 19> kTypeNames{{
    {StepType::kClaude, "claude", true},
    {StepType::kGemini, "gemini", true},
    {StepType::kLlm, "llm", true},
    {StepType::kParallelClaude, "parallel_claude", true},
    {StepType::kClaudeBatch, "claude_batch", true},
    {StepType::kClaudeSession, "claude_session", true},
    {StepType::kClaudeExtract, "claude_extract", true},
    {StepType::kClaudeRobust, "claude_robust", true},
    {StepType::kClaudeSmart, "claude_smart", true},
    {StepType::kGeminiInstructor, "gemini_instructor", true},
    {StepType::kTool, "tool", true},
    {StepType::kSetVariable, "set_variable", true},
    {StepType::kForLoop, "for_loop", true},
    {StepType::kWhileLoop, "while_loop", true},
    {StepType::kDataTransform, "data_transform", true},
    {StepType::kFileOps, "file_ops", true},
    {StepType::kPipeline, "pipeline", true},
    {StepType::kEcho, "echo", true},
    {StepType::kEcho, "test_echo", false},
}};

}  // namespace

std::string_view step_type_name(StepType type) {
  for (const auto& entry : kTypeNames) {
    if (entry.type == type && entry.canonical) return entry.name;
  }
  return "unknown";
}

std::optional<StepType> step_type_from_name(std::string_view name) {
  for (const auto& entry : kTypeNames) {
    if (entry.name == name) return entry.type;
  }
  return std::nullopt;
}

std::vector<std::string_view> step_type_names() {
  std::vector<std::string_view> names;
  for (const auto& entry : kTypeNames) names.push_back(entry.name);
  return names;
}

bool is_loop(StepType type) { return type == StepType::kForLoop || type == StepType::kWhileLoop; }

bool is_fan_out(StepType type) {
  return type == StepType::kParallelClaude || type == StepType::kClaudeBatch;
}

bool consolidates_results(const Step& step) {
  const Value* batch = step.options.find("batch_config");
  return step.type == StepType::kClaudeBatch && batch &&
         batch->get_bool("consolidate_results", false);
}

std::string task_id(const Value& task, size_t index) {
  return task.get_string("id", task.get_string("task_id", std::to_string(index)));
}

std::string_view backoff_name(Backoff backoff) {
  switch (backoff) {
    case Backoff::kFixed:
      return "fixed";
    case Backoff::kLinear:
      return "linear";
    case Backoff::kExponential:
      return "exponential";
  }
  return "exponential";
}

SourceLocation Step::location_of(std::string_view key) const {
  while (!key.empty()) {
    auto it = key_locations.find(key);
    if (it != key_locations.end()) return it->second;
    size_t dot = key.rfind('.');
    if (dot == std::string_view::npos) break;
    key = key.substr(0, dot);
  }
  return location;
}

bool Step::has_key(std::string_view key) const { return key_locations.count(key) != 0; }

}  // namespace pl::pipeline
