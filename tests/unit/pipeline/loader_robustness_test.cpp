// Hostile and broken inputs: every one must give diagnostics, never a crash or a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/pipeline/loader.h"
#include "common/pipeline/validate.h"
#include "common/pipeline/yaml_tree.h"
#include "test_util.h"

namespace pl::pipeline {
namespace {

using testing::all_messages;
using testing::load;

constexpr const char* kValid = R"(workflow:
  name: fuzz
  inputs:
    topic: {type: string, default: cats}
  defaults: {timeout: 30, model: m}
  steps:
    - name: ask
      type: claude
      prompt:
        - {type: static, content: "About {{inputs.topic}}"}
      claude_options: {max_turns: 2}
      retry: {max_attempts: 2}
    - name: each
      type: for_loop
      iterator: item
      items: [1, 2, 3]
      steps:
        - {name: e, type: echo, value: "{{loop.item}}", condition: "steps.ask.success"}
    - name: w
      type: while_loop
      condition: {and: ["default(state.n, 0) < 3", {not: "steps.ask.error"}]}
      max_iterations: 3
      steps:
        - {name: s, type: set_variable, variables: {n: "{{default(state.n, 0) + 1}}"}}
)";

// Loads, and validates what loads: the whole library must survive the input.
void survive(std::string_view text) {
  LoadResult r = load(text);
  if (r.pipeline) (void)validate_pipeline(*r.pipeline, ValidateOptions{});
  for (const auto& d : r.diagnostics) EXPECT_FALSE(d.message.empty());
}

TEST(LoaderRobustness, TheFuzzSeedLoadsCleanly) {
  auto r = load(kValid);
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_TRUE(validate_pipeline(*r.pipeline, ValidateOptions{}).empty());
}

TEST(LoaderRobustness, AnEmptyFileIsAnError) {
  auto r = load("");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(format_diagnostic(r.diagnostics[0]), "p.yaml: error: the file is empty");
  auto comments = load("# only a comment\n");
  EXPECT_FALSE(comments.ok());
  EXPECT_EQ(comments.diagnostics.size(), 1u);
}

TEST(LoaderRobustness, AFileWhoseRootIsAListIsAnError) {
  auto r = load("- a\n- b\n");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(format_diagnostic(r.diagnostics[0]),
            "p.yaml:1:1: error: a pipeline file must be a map with the key \"workflow\", got list");
}

TEST(LoaderRobustness, AFileWhoseRootIsAScalarOrNullIsAnError) {
  EXPECT_FALSE(load("just words\n").ok());
  EXPECT_FALSE(load("~\n").ok());
  EXPECT_FALSE(load("---\n").ok());
}

TEST(LoaderRobustness, TruncatedYamlAtEveryLengthGivesDiagnosticsNotACrash) {
  const std::string text = kValid;
  for (size_t n = 0; n < text.size(); ++n) {
    std::string cut = text.substr(0, n);
    LoadResult r = load(cut);
    if (!r.ok()) {
      EXPECT_TRUE(has_errors(r.diagnostics)) << "length " << n;
    }
    if (r.pipeline) (void)validate_pipeline(*r.pipeline, ValidateOptions{});
  }
}

TEST(LoaderRobustness, ATenThousandDeepNestedListIsRefusedWithAClearError) {
  std::string text =
      "workflow:\n  name: x\n  steps: " + std::string(10000, '[') + std::string(10000, ']') + "\n";
  auto r = load(text);
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u) << all_messages(r.diagnostics);
  EXPECT_NE(r.diagnostics[0].message.find("nesting is too deep"), std::string::npos);
}

TEST(LoaderRobustness, ATenThousandDeepBlockListIsRefusedWithAClearError) {
  std::string text = "workflow:\n  name: x\n  steps:\n    ";
  for (int i = 0; i < 10000; ++i) text += "- ";
  text += "x\n";
  auto r = load(text);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(all_messages(r.diagnostics).find("too deep"), std::string::npos)
      << all_messages(r.diagnostics).substr(0, 500);
}

TEST(LoaderRobustness, NestingDeeperThanOurLimitButWithinYamlCppsIsRefused) {
  std::string text = "workflow:\n  name: x\n  global_vars: {a: " + std::string(150, '[') +
                     std::string(150, ']') + "}\n  steps: [{name: a, type: echo}]\n";
  auto r = load(text);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(all_messages(r.diagnostics).find("deeper than 100 levels"), std::string::npos)
      << all_messages(r.diagnostics);
}

TEST(LoaderRobustness, AnAliasBombIsRefusedQuickly) {
  std::string text =
      "workflow:\n  name: x\n  global_vars:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "    a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) text += (j ? ", " : "") + prev;
    text += "]\n";
  }
  text += "  steps: [{name: a, type: echo}]\n";
  const auto start = std::chrono::steady_clock::now();
  auto r = load(text);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.ok());
  EXPECT_NE(all_messages(r.diagnostics).find("alias bomb"), std::string::npos)
      << all_messages(r.diagnostics);
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST(LoaderRobustness, AnAliasThatContainsItselfIsRefused) {
  auto r = load(
      "workflow:\n  name: x\n  global_vars: &loop {self: *loop}\n  steps: [{name: a, type: "
      "echo}]\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_errors(r.diagnostics)) << all_messages(r.diagnostics);
  auto list =
      load("workflow:\n  name: x\n  global_vars: {a: &l [*l]}\n  steps: [{name: a, type: echo}]\n");
  EXPECT_FALSE(list.ok());
}

TEST(LoaderRobustness, AnUndefinedAliasIsAnError) {
  auto r =
      load("workflow:\n  name: x\n  global_vars: *nothing\n  steps: [{name: a, type: echo}]\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_errors(r.diagnostics));
}

TEST(LoaderRobustness, BinaryGarbageGivesDiagnosticsNotACrash) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::string garbage(static_cast<size_t>(rng() % 512), '\0');
    for (char& c : garbage) c = static_cast<char>(rng() & 0xFF);
    LoadResult r = load(garbage);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(has_errors(r.diagnostics));
  }
}

TEST(LoaderRobustness, MultipleDocumentsAreAnError) {
  auto r = load("workflow:\n  name: a\n  steps: [{name: a, type: echo}]\n---\nworkflow: {}\n");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(all_messages(r.diagnostics).find("holds one YAML document; this one has more"),
            std::string::npos);
}

TEST(LoaderRobustness, MutatedPipelinesNeverCrashTheLoaderOrValidator) {
  const std::string seed = kValid;
  const std::string pieces[] = {
      "{{",       "}}",   "[",  "]",  "{",      "}",    ":",      "- ",
      "\n",       "  ",   "'",  "\"", "&a ",    "*a",   "steps:", "type: for_loop",
      "{{steps.", "not ", "\t", "#",  "!!str ", "<<: ", "? ",     "|",
      ">"};
  std::mt19937 rng(4242);
  for (int round = 0; round < 1500; ++round) {
    std::string text = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0:
          text.insert(at, pieces[rng() % std::size(pieces)]);
          break;
        case 1:
          text.erase(at, rng() % 8);
          break;
        default:
          if (at < text.size()) text[at] = static_cast<char>(32 + rng() % 95);
      }
    }
    survive(text);
  }
}

TEST(LoaderRobustness, AStrayCommaThatStallsYamlCppIsASyntaxError) {
  for (const char* text : {",", "- a\n,", "workflow: {}\n,\n"}) {
    auto r = load(text);
    EXPECT_FALSE(r.ok());
    EXPECT_NE(all_messages(r.diagnostics).find("YAML syntax error"), std::string::npos)
        << text << ":\n"
        << all_messages(r.diagnostics);
  }
}

TEST(LoaderRobustness, AnOversizedFileIsRefusedBeforeParsing) {
  std::string huge(kMaxYamlBytes + 1, ' ');
  auto r = load(huge);
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("over the limit"), std::string::npos);
}

TEST(LoaderRobustness, GarbageWrittenToAFileLoadsAsDiagnostics) {
  const auto path = std::filesystem::path(::testing::TempDir()) / "garbage_pipeline.yaml";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 256; ++i) out.put(static_cast<char>(i));
  }
  auto r = load_pipeline_file(path);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_errors(r.diagnostics));
  EXPECT_EQ(r.diagnostics[0].where.file, path.string());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace pl::pipeline
