// The schema tables, checked as a matrix: every step type x {minimal step, unknown key, each
// required key missing, each ignored key, each nested map}.
#include "common/pipeline/schema.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

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

TEST(SchemaMatrix, TemplatesAreAcceptedWhereAValueIsComputedAtRunTime) {
  auto r = load(R"(workflow:
  name: m
  steps:
    - name: a
      type: for_loop
      iterator: i
      data_source: "{{steps.x.list}}"
      max_parallel: "{{inputs.n}}"
      parallel: "{{inputs.p}}"
      steps: [{name: b, type: echo}]
    - {name: c, type: tool, tool: t, args: "{{inputs.args}}"}
    - {name: d, type: llm, provider: mock, prompt: p, temperature: "{{inputs.t}}"}
)");
  EXPECT_TRUE(r.ok()) << all_messages(r.diagnostics);
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
