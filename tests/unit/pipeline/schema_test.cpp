// The schema tables, checked as a matrix: every step type x {minimal step, unknown key, each
// required key missing, each ignored key, each nested map}.
#include "common/pipeline/schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "test_util.h"

namespace pl::pipeline {
namespace {

using testing::all_messages;
using testing::load;
using testing::matching;

constexpr StepType kAllTypes[] = {
    StepType::kClaude,           StepType::kGemini,       StepType::kLlm,
    StepType::kParallelClaude,   StepType::kClaudeBatch,  StepType::kClaudeSession,
    StepType::kClaudeExtract,    StepType::kClaudeRobust, StepType::kClaudeSmart,
    StepType::kGeminiInstructor, StepType::kTool,         StepType::kSetVariable,
    StepType::kForLoop,          StepType::kWhileLoop,    StepType::kDataTransform,
    StepType::kFileOps,          StepType::kPipeline,     StepType::kEcho,
};

using Keys = std::map<std::string, std::string>;  // key -> YAML flow text of its value

// The smallest valid step of each type.
Keys minimal_step(StepType type) {
  const std::string body = "[{name: inner, type: echo}]";
  switch (type) {
    case StepType::kClaude:
    case StepType::kGemini:
    case StepType::kClaudeExtract:
    case StepType::kClaudeRobust:
    case StepType::kGeminiInstructor:
      return {{"prompt", "p"}};
    case StepType::kLlm:
      return {{"prompt", "p"}, {"provider", "mock"}};
    case StepType::kParallelClaude:
      return {{"parallel_tasks", "[{id: a, prompt: p}]"}};
    case StepType::kClaudeBatch:
      return {{"tasks", "[{task_id: a, prompt: p}]"}};
    case StepType::kClaudeSession:
      return {{"prompt", "p"}, {"session_config", "{session_name: s}"}};
    case StepType::kClaudeSmart:
      return {{"prompt", "p"}, {"preset", "chat"}};
    case StepType::kTool:
      return {{"tool", "t"}};
    case StepType::kSetVariable:
      return {{"variables", "{a: 1}"}};
    case StepType::kForLoop:
      return {{"iterator", "i"}, {"items", "[1]"}, {"steps", body}};
    case StepType::kWhileLoop:
      return {{"condition", "'false'"}, {"max_iterations", "1"}, {"steps", body}};
    case StepType::kDataTransform:
      return {{"input_source", "steps.x"}, {"operations", "[{operation: sort}]"}};
    case StepType::kFileOps:
      return {{"operation", "list"}, {"path", "."}};
    case StepType::kPipeline:
      return {{"pipeline_file", "child.yaml"}};
    case StepType::kEcho:
      return {{"value", "1"}};
  }
  return {};
}

std::string pipeline_with(StepType type, const Keys& keys) {
  std::string text = "workflow:\n  name: m\n  steps:\n    - name: s\n      type: " +
                     std::string(step_type_name(type)) + "\n";
  for (const auto& [key, value] : keys) text += "      " + key + ": " + value + "\n";
  return text;
}

std::string label(StepType type) { return std::string(step_type_name(type)); }

TEST(Schema, StepTypeNamesRoundTrip) {
  std::set<std::string_view> seen;
  for (StepType type : kAllTypes) {
    std::string_view name = step_type_name(type);
    EXPECT_TRUE(seen.insert(name).second) << name;
    EXPECT_EQ(step_type_from_name(name), type) << name;
  }
  EXPECT_EQ(step_type_name(StepType::kEcho), "echo");
  EXPECT_EQ(step_type_from_name("test_echo"), StepType::kEcho);
  EXPECT_EQ(step_type_from_name("Claude"), std::nullopt);
  EXPECT_EQ(step_type_from_name(""), std::nullopt);
  EXPECT_EQ(step_type_names().size(), std::size(kAllTypes) + 1);
}

TEST(Schema, TablesHaveNoDuplicateKeysAndOverrideCommonKeysOnlyOnPurpose) {
  for (StepType type : kAllTypes) {
    std::set<std::string_view> keys;
    for (const KeySpec& spec : step_keys(type).keys) {
      EXPECT_TRUE(keys.insert(spec.name).second) << label(type) << "." << spec.name;
      const bool overrides = common_step_keys().find(spec.name) != nullptr;
      EXPECT_EQ(overrides, type == StepType::kWhileLoop && spec.name == "condition")
          << label(type) << "." << spec.name;
    }
  }
}

TEST(Schema, IgnoredKeysAlwaysSayWhy) {
  auto check = [](const KeyTable& table) {
    for (const KeySpec& spec : table.keys) {
      if (spec.support == KeySupport::kIgnored) {
        EXPECT_FALSE(spec.note.empty()) << spec.name;
      }
    }
  };
  check(workflow_keys());
  check(common_step_keys());
  for (StepType type : kAllTypes) {
    check(step_keys(type));
    for (const KeySpec& spec : step_keys(type).keys) {
      if (spec.nested) check(*spec.nested);
    }
  }
}

TEST(SchemaMatrix, TheMinimalStepOfEveryTypeLoads) {
  for (StepType type : kAllTypes) {
    auto r = load(pipeline_with(type, minimal_step(type)));
    EXPECT_TRUE(r.ok()) << label(type) << ":\n" << all_messages(r.diagnostics);
    EXPECT_TRUE(r.diagnostics.empty()) << label(type) << ":\n" << all_messages(r.diagnostics);
  }
}

TEST(SchemaMatrix, AnUnknownKeyIsAnErrorForEveryType) {
  for (StepType type : kAllTypes) {
    Keys keys = minimal_step(type);
    keys["bogus_key"] = "1";
    auto r = load(pipeline_with(type, keys));
    EXPECT_FALSE(r.ok()) << label(type);
    EXPECT_EQ(matching(r.diagnostics, "unknown key \"bogus_key\" in " + label(type) + " step \"s\"")
                  .size(),
              1u)
        << label(type) << ":\n"
        << all_messages(r.diagnostics);
  }
}

TEST(SchemaMatrix, EveryRequiredKeyOfEveryTypeIsRequired) {
  for (StepType type : kAllTypes) {
    for (const KeySpec& spec : step_keys(type).keys) {
      if (!spec.is_required) continue;
      Keys keys = minimal_step(type);
      ASSERT_EQ(keys.count(std::string(spec.name)), 1u)
          << "the minimal " << label(type) << " step lacks required " << spec.name;
      keys.erase(std::string(spec.name));
      auto r = load(pipeline_with(type, keys));
      EXPECT_FALSE(r.ok()) << label(type) << " without " << spec.name;
      EXPECT_EQ(
          matching(r.diagnostics, "missing required key \"" + std::string(spec.name) + "\"").size(),
          1u)
          << label(type) << ":\n"
          << all_messages(r.diagnostics);
    }
  }
}

TEST(SchemaMatrix, EveryIgnoredStepKeyIsAWarningNamingIt) {
  for (StepType type : kAllTypes) {
    std::vector<const KeySpec*> specs;
    for (const KeySpec& spec : step_keys(type).keys) specs.push_back(&spec);
    for (const KeySpec& spec : common_step_keys().keys) specs.push_back(&spec);
    for (const KeySpec* spec : specs) {
      if (spec->support != KeySupport::kIgnored) continue;
      Keys keys = minimal_step(type);
      keys[std::string(spec->name)] = "x";
      auto r = load(pipeline_with(type, keys));
      EXPECT_TRUE(r.ok()) << label(type) << "." << spec->name << ":\n"
                          << all_messages(r.diagnostics);
      auto found = matching(r.diagnostics, "key \"" + std::string(spec->name) + "\" is ignored");
      ASSERT_EQ(found.size(), 1u) << label(type) << ":\n" << all_messages(r.diagnostics);
      EXPECT_EQ(found[0].severity, Severity::kWarning);
    }
  }
}

TEST(SchemaMatrix, EveryIgnoredKeyOfEveryNestedMapIsAWarningNamingIt) {
  size_t checked = 0;
  for (StepType type : kAllTypes) {
    for (const KeySpec& outer : step_keys(type).keys) {
      if (outer.kind != KeyKind::kMap || !outer.nested) continue;
      for (const KeySpec& inner : outer.nested->keys) {
        if (inner.support != KeySupport::kIgnored) continue;
        Keys keys = minimal_step(type);
        keys[std::string(outer.name)] = "{" + std::string(inner.name) + ": x}";
        auto r = load(pipeline_with(type, keys));
        const std::string path = std::string(outer.name) + "." + std::string(inner.name);
        auto found = matching(r.diagnostics, "key \"" + path + "\" is ignored");
        ASSERT_EQ(found.size(), 1u) << label(type) << ":\n" << all_messages(r.diagnostics);
        EXPECT_EQ(found[0].severity, Severity::kWarning);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 50u);
}

TEST(SchemaMatrix, EveryNestedMapRejectsUnknownKeys) {
  for (StepType type : kAllTypes) {
    for (const KeySpec& outer : step_keys(type).keys) {
      if (outer.kind != KeyKind::kMap || !outer.nested) continue;
      Keys keys = minimal_step(type);
      keys[std::string(outer.name)] = "{bogus_key: 1}";
      auto r = load(pipeline_with(type, keys));
      EXPECT_FALSE(r.ok());
      EXPECT_EQ(
          matching(r.diagnostics, "unknown key \"bogus_key\" in " + std::string(outer.name)).size(),
          1u)
          << label(type) << "." << outer.name << ":\n"
          << all_messages(r.diagnostics);
    }
  }
}

TEST(SchemaMatrix, EveryIgnoredWorkflowKeyIsAWarningNamingIt) {
  for (const KeySpec& spec : workflow_keys().keys) {
    if (spec.support != KeySupport::kIgnored) continue;
    auto r = load("workflow:\n  name: m\n  " + std::string(spec.name) +
                  ": x\n  steps: [{name: a, type: echo}]\n");
    EXPECT_TRUE(r.ok()) << all_messages(r.diagnostics);
    EXPECT_EQ(matching(r.diagnostics, "key \"" + std::string(spec.name) + "\" is ignored").size(),
              1u)
        << all_messages(r.diagnostics);
  }
}

TEST(SchemaMatrix, TemplatesAreAcceptedWhereTheBrokerRendersTheValueWhenTheStepRuns) {
  auto r = load(R"(workflow:
  name: m
  steps:
    - name: a
      type: for_loop
      iterator: i
      data_source: "{{steps.x.list}}"
      break_condition: "{{inputs.stop}}"
      steps: [{name: b, type: echo, value: "{{loop.i}}", condition: "{{inputs.on}}"}]
    - {name: f, type: for_loop, iterator: i, items: "{{inputs.l}}", steps: [{name: g, type: echo}]}
    - name: h
      type: for_loop
      iterator: i
      items_file: "{{inputs.f}}"
      steps: [{name: j, type: echo}]
    - {name: c, type: tool, tool: t, args: "{{inputs.args}}", output_to_file: "{{inputs.o}}"}
    - {name: d, type: llm, provider: mock, prompt: "{{inputs.p}}", temperature: "{{inputs.t}}"}
    - {name: e, type: claude, prompt: p, claude_options: "{{inputs.options}}"}
    - {name: k, type: set_variable, variables: {v: "{{inputs.v}}"}}
    - {name: l, type: claude_batch, tasks_file: "{{inputs.tasks}}", preset: "{{inputs.preset}}"}
    - name: m
      type: claude_batch
      prompt: "{{inputs.p}}"
      tasks:
        - {task_id: a, prompt: "{{inputs.p}}", file: "{{inputs.f}}",
           output_to_file: "{{inputs.o}}", claude_options: {model: "{{inputs.model}}"}}
    - {name: n, type: parallel_claude, parallel_tasks: [{id: a, prompt: "{{inputs.p}}"}]}
    - {name: o, type: pipeline, pipeline_file: child.yaml, inputs: {x: "{{inputs.x}}"}}
    - {name: q, type: claude_robust, prompt: p, retry_config: {fallback_action: "{{inputs.f}}"}}
)");
  EXPECT_TRUE(r.ok()) << all_messages(r.diagnostics);
}

// One key the broker (or the loader) reads as written, with a template in it.
struct LiteralCase {
  std::string yaml;
  std::string written;  // the value as written in `yaml`, where the error must point
  std::string path;     // the key as the message names it
};

std::string workflow_with(const std::string& key, const std::string& value) {
  return "workflow:\n  name: m\n  " + key + ": " + value + "\n  steps: [{name: a, type: echo}]\n";
}

std::vector<LiteralCase> literal_cases() {
  const std::string t = "\"{{inputs.x}}\"";
  auto step = [&](StepType type, const std::string& key, const std::string& value) {
    Keys keys = minimal_step(type);
    keys[key] = value;
    return pipeline_with(type, keys);
  };
  using S = StepType;
  return {
      {step(S::kForLoop, "parallel", t), t, "parallel"},
      {step(S::kForLoop, "max_parallel", t), t, "max_parallel"},
      {step(S::kForLoop, "break_on_error", t), t, "break_on_error"},
      {step(S::kWhileLoop, "break_on_error", t), t, "break_on_error"},
      {step(S::kParallelClaude, "max_parallel", t), t, "max_parallel"},
      {step(S::kParallelClaude, "parallel_tasks", t), t, "parallel_tasks"},
      {step(S::kParallelClaude, "parallel_tasks", "[{id: " + t + ", prompt: p}]"), t,
       "parallel_tasks.0.id"},
      {step(S::kParallelClaude, "parallel_tasks",
            "[{id: a, prompt: p, claude_options: " + t + "}]"),
       t, "parallel_tasks.0.claude_options"},
      {step(S::kClaudeBatch, "batch_config", t), t, "batch_config"},
      {step(S::kClaudeBatch, "batch_config", "{max_parallel: " + t + "}"), t,
       "batch_config.max_parallel"},
      {step(S::kClaudeBatch, "batch_config", "{timeout_per_task: " + t + "}"), t,
       "batch_config.timeout_per_task"},
      {step(S::kClaudeBatch, "batch_config", "{consolidate_results: " + t + "}"), t,
       "batch_config.consolidate_results"},
      {step(S::kClaudeBatch, "claude_options", t), t, "claude_options"},
      {step(S::kClaudeBatch, "tasks", t), t, "tasks"},
      {step(S::kClaudeBatch, "tasks", "[{task_id: " + t + ", prompt: p}]"), t, "tasks.0.task_id"},
      {step(S::kClaudeBatch, "tasks", "[{task_id: a, prompt: p, claude_options: " + t + "}]"), t,
       "tasks.0.claude_options"},
      {step(S::kPipeline, "pipeline_file", "\"{{inputs.which}}.yaml\""),
       "\"{{inputs.which}}.yaml\"", "pipeline_file"},
      {step(S::kPipeline, "config", t), t, "config"},
      {step(S::kPipeline, "config", "{max_depth: " + t + "}"), t, "config.max_depth"},
      {step(S::kPipeline, "config", "{timeout_seconds: " + t + "}"), t, "config.timeout_seconds"},
      {step(S::kPipeline, "config", "{inherit_context: " + t + "}"), t, "config.inherit_context"},
      {step(S::kPipeline, "outputs", t), t, "outputs"},
      {step(S::kPipeline, "outputs", "[" + t + "]"), t, "outputs.0"},
      {step(S::kPipeline, "outputs", "[{path: " + t + ", as: y}]"), t, "outputs.0.path"},
      {step(S::kPipeline, "outputs", "[{path: x, as: " + t + "}]"), t, "outputs.0.as"},
      {step(S::kSetVariable, "scope", t), t, "scope"},
      {step(S::kClaudeRobust, "retry_config", t), t, "retry_config"},
      {step(S::kDataTransform, "operations", t), t, "operations"},
      {step(S::kEcho, "retry", "\"{{inputs.r}}\""), "\"{{inputs.r}}\"", "retry"},
      {step(S::kEcho, "retry", "{max_attempts: 2, retry_on: [" + t + "]}"), t, "retry.retry_on"},
      {step(S::kEcho, "timeout", t), t, "timeout"},
      {"workflow:\n  name: m\n  steps:\n    - {name: " + t + ", type: echo}\n", t, "name"},
      {workflow_with("workspace_dir", t), t, "workspace_dir"},
      {workflow_with("output_dir", t), t, "output_dir"},
      {workflow_with("defaults", t), t, "defaults"},
      {workflow_with("defaults", "{timeout: " + t + "}"), t, "defaults.timeout"},
      {workflow_with("defaults", "{output_dir: " + t + "}"), t, "defaults.output_dir"},
      {workflow_with("defaults", "{claude_options: " + t + "}"), t, "defaults.claude_options"},
      {workflow_with("defaults", "{token_budget: " + t + "}"), t, "defaults.token_budget"},
      {"workflow:\n  name: " + t + "\n  steps: [{name: a, type: echo}]\n", t, "name"},
  };
}

// Where `written` starts in `yaml`, 1-based.
std::pair<int, int> line_column(const std::string& yaml, const std::string& written) {
  const size_t at = yaml.find(written);
  EXPECT_NE(at, std::string::npos) << written;
  const size_t line_start = yaml.rfind('\n', at);
  const int line = 1 + static_cast<int>(std::count(yaml.begin(), yaml.begin() + at, '\n'));
  const int column =
      static_cast<int>(at - (line_start == std::string::npos ? 0 : line_start + 1)) + 1;
  return {line, column};
}

TEST(SchemaMatrix, KeysReadAsWrittenRefuseATemplateAtItsLocationSayingTheyTakeALiteral) {
  for (const LiteralCase& c : literal_cases()) {
    auto r = load(c.yaml);
    EXPECT_FALSE(r.ok()) << c.path << " loaded:\n" << c.yaml;
    const auto [line, column] = line_column(c.yaml, c.written);
    EXPECT_TRUE(testing::has_error(r.diagnostics, line, column,
                                   "key \"" + c.path +
                                       "\" must be written as a literal, not a "
                                       "template: it is read as written, never rendered"))
        << c.yaml;
  }
}

TEST(SchemaMatrix, AnAllowedValuesCheckIsNotSkippedForALiteralKey) {
  // set_variable's scope is one of global/loop; a template used to skip that check and run as
  // global.
  auto r = load(pipeline_with(StepType::kSetVariable,
                              {{"variables", "{a: 1}"}, {"scope", "\"{{inputs.s}}\""}}));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(matching(r.diagnostics, "key \"scope\" must be written as a literal").size(), 1u)
      << all_messages(r.diagnostics);
  auto typo =
      load(pipeline_with(StepType::kSetVariable, {{"variables", "{a: 1}"}, {"scope", "lop"}}));
  EXPECT_EQ(matching(typo.diagnostics, "key \"scope\" must be one of global, loop").size(), 1u)
      << all_messages(typo.diagnostics);
}

TEST(Schema, PromptPartTypesHaveTables) {
  for (auto type : prompt_part_types()) {
    const KeyTable* table = prompt_part_keys(type);
    ASSERT_NE(table, nullptr) << type;
    ASSERT_NE(table->find("type"), nullptr) << type;
  }
  EXPECT_EQ(prompt_part_keys("claude_continue"), nullptr);
  EXPECT_TRUE(unsupported_prompt_part_note("claude_continue").has_value());
  EXPECT_TRUE(unsupported_step_type_note("switch").has_value());
  EXPECT_FALSE(unsupported_step_type_note("claude").has_value());
}

}  // namespace
}  // namespace pl::pipeline
