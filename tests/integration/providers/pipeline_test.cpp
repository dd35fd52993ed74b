// Whole runs through `pipelinectl run` (a private tree: supervisor, broker, registry, workers)
// whose LLM steps call pipeline-fake-llm, or the mock when no key is set.
#include <gtest/gtest.h>

#include <fstream>

#include "common/ids.h"
#include "common/json.h"
#include "tests/fakes/fake_llm_process.h"
#include "tests/integration/tree.h"
#include "tests/support/harness.h"

namespace pl::test {
namespace {

constexpr const char* kPipeline = R"(workflow:
  name: llm_steps
  steps:
    - name: ask
      type: claude
      prompt:
        - type: file
          path: question.md
      claude_options: {model: sonnet, max_tokens: 100}
    - name: local
      type: llm
      provider: openai
      model: qwen2.5
      prompt: "Hi from {{steps.ask.provider}}"
    - name: fan
      type: parallel_claude
      parallel_tasks:
        - {id: a, prompt: "task a"}
        - {id: b, prompt: "task b"}
    - name: brain
      type: gemini
      model: gemini-2.5-flash
      prompt: hello
    - name: extract
      type: claude_extract
      prompt: "[[fake:json]]"
      extraction_config: {format: json}
)";

const std::vector<std::string> kKeyVariables = {"ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                                                "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "GEMINI_BASE_URL",
                                                "OPENAI_BASE_URL", "PIPELINE_STATE_DIR",
                                                "PIPELINE_MOCK_PROVIDERS"};

struct RunOutput {
  CommandResult command;
  Value result;
  std::string tag;  // in the environment of every process the run started
};

RunOutput run_pipeline(const TempDir& dir, std::vector<std::string> env) {
  std::ofstream(dir.path() / "llm.yaml") << kPipeline;
  std::ofstream(dir.path() / "question.md") << "What is 2 + 2?";
  SpawnOptions options;
  options.unset_env = kKeyVariables;
  options.env = std::move(env);
  RunOutput out;
  out.tag = "PIPELINE_TEST_TAG=" + new_id("t");
  options.env.push_back(out.tag);
  options.cwd = dir.path();
  out.command = run_command({binary("pipelinectl"), "run", (dir.path() / "llm.yaml").string()}, 120s, options);
  EXPECT_TRUE(wait_until([&] { return processes_with_env(out.tag).empty(); }, 10s))
      << "processes left behind: " << processes_with_env(out.tag).size();
  auto parsed = parse_json(out.command.out);
  EXPECT_TRUE(parsed.ok()) << "stdout: " << out.command.out << "\nstderr: " << out.command.err;
  if (parsed.ok()) out.result = std::move(*parsed);
  return out;
}

TEST(LlmPipeline, EveryLlmStepTypeRunsThroughTheWorkersAgainstTheApis) {
  fakes::FakeLlmServer server;
  TempDir dir;
  RunOutput run = run_pipeline(dir, {"ANTHROPIC_API_KEY=sk-ant-e2e", "GEMINI_API_KEY=g-e2e", "OPENAI_API_KEY=o-e2e",
                                     "ANTHROPIC_BASE_URL=" + server.base_url(),
                                     "GEMINI_BASE_URL=" + server.base_url(),
                                     "OPENAI_BASE_URL=" + server.openai_base_url()});
  ASSERT_EQ(run.command.exit_code, 0) << run.command.err;
  const Value* steps = run.result.find("steps");
  ASSERT_TRUE(steps);
  const Value* ask = steps->find("ask");
  EXPECT_EQ(ask->get_string("text"), "fake anthropic answer from claude-sonnet-4-5");
  EXPECT_EQ(ask->get_string("provider"), "anthropic");
  EXPECT_EQ(ask->find("usage")->get_int("input_tokens"), 11);
  EXPECT_DOUBLE_EQ(ask->find("usage")->find("cost_usd")->as_double(), (11 * 3.0 + 7 * 15.0) / 1e6);
  EXPECT_EQ(steps->find("local")->get_string("text"), "fake openai answer from qwen2.5");
  // The run's usage sums every call: more than the one step's.
  const Value* usage = run.result.find("usage");
  ASSERT_NE(usage, nullptr) << to_json(run.result);
  EXPECT_GT(usage->get_int("input_tokens"), ask->find("usage")->get_int("input_tokens"));
  EXPECT_EQ(steps->find("fan")->get_int("succeeded"), 2);
  EXPECT_EQ(steps->find("brain")->get_string("provider"), "gemini");
  EXPECT_EQ(steps->find("extract")->find("data")->get_int("answer"), 42);
  const auto sent = server.requests_containing("What is 2 + 2?");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].find("headers")->get_string("x-api-key"), "sk-ant-e2e");
  EXPECT_EQ(server.requests_containing("Hi from anthropic").size(), 1u);
}

TEST(LlmPipeline, WithoutKeysTheMockAnswersAndEveryResultSaysSo) {
  TempDir dir;
  RunOutput run = run_pipeline(dir, {});
  ASSERT_EQ(run.command.exit_code, 0) << run.command.err;
  const Value* steps = run.result.find("steps");
  ASSERT_TRUE(steps);
  for (const char* name : {"ask", "local", "brain", "extract"}) {
    const Value* s = steps->find(name);
    ASSERT_TRUE(s) << name;
    EXPECT_TRUE(s->get_bool("mock")) << name;
    EXPECT_EQ(s->get_string("provider"), "mock") << name;
    EXPECT_EQ(s->find("usage")->find("cost_usd")->as_double(), 0.0) << name;
  }
  EXPECT_EQ(steps->find("ask")->get_string("text").rfind("[mock claude-sonnet-4-5] reply to \"What is 2 + 2?\"", 0),
            0u);
  EXPECT_EQ(steps->find("local")->get_string("text").rfind("[mock qwen2.5] reply to \"Hi from mock\"", 0), 0u);
  for (const Value& item : steps->find("fan")->find("items")->as_array()) EXPECT_TRUE(item.get_bool("mock"));
}

// Answers the provider cut at the output-token limit, and an OpenAI account out of quota, as a
// tree's workers meet them: tools registered, retries configured, the broker deciding.
constexpr const char* kCutPipeline = R"(workflow:
  name: cut_answers
  steps:
    - name: openai_cut_tool
      type: llm
      provider: openai
      model: gpt-4o
      max_tokens: 64
      allowed_tools: [word_count]
      prompt: "[[fake:cut_tool]] openai-cut-tool"
      retry: {max_attempts: 3}
      on_error: continue
    - name: claude_cut_tool
      type: claude
      prompt: "[[fake:cut_tool]] claude-cut-tool"
      claude_options: {allowed_tools: [word_count], max_tokens: 64}
      retry: {max_attempts: 3}
      on_error: continue
    - name: openai_quota
      type: llm
      provider: openai
      model: gpt-4o
      prompt: "[[fake:quota]] openai-quota"
      retry: {max_attempts: 3}
      on_error: continue
    - name: claude_cut_text
      type: claude
      prompt: "[[fake:cut]] claude-cut-text"
      claude_options: {max_tokens: 64}
    - name: openai_after
      type: llm
      provider: openai
      model: gpt-4o
      prompt: "openai-after"
)";

TEST(LlmPipelineTree, CutToolCallsAndAnExhaustedQuotaFailOnceWithoutRetriesOrToolRuns) {
  fakes::FakeLlmServer server;
  Tree tree(tree_config(1), 1,
            {"ANTHROPIC_API_KEY=sk-ant-e2e", "OPENAI_API_KEY=o-e2e", "GEMINI_API_KEY=g-e2e",
             "ANTHROPIC_BASE_URL=" + server.base_url(), "GEMINI_BASE_URL=" + server.base_url(),
             "OPENAI_BASE_URL=" + server.openai_base_url()});
  auto reg = tree.pipelinectl(
      {"tools", "register", (source_dir() / "configs/tools/word_count.yaml").string()});
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  std::ofstream(tree.dir() / "cut.yaml") << kCutPipeline;
  auto run = tree.pipelinectl({"run", (tree.dir() / "cut.yaml").string()}, 120s);
  auto result = parse_json(run.out);
  ASSERT_TRUE(result.ok()) << run.out << run.err;
  const Value* steps = result->find("steps");
  ASSERT_NE(steps, nullptr) << run.out;

  // Cut inside a tool call: step_failed, which the broker neither retries by default nor holds
  // against the provider's breaker; the request went once and no tool ran.
  for (const char* name : {"openai_cut_tool", "claude_cut_tool"}) {
    const Value* step = steps->find(name);
    ASSERT_NE(step, nullptr) << name;
    EXPECT_EQ(step->get_string("error_code"), "step_failed") << name << ": " << to_json(*step);
    EXPECT_EQ(step->get_int("attempts"), 1) << name;
    EXPECT_NE(step->get_string("error").find("cut at the output-token limit inside a tool call"),
              std::string::npos)
        << step->get_string("error");
    EXPECT_NE(step->get_string("error").find("with max_tokens 64"), std::string::npos);
    // The cut answer was billed: its tokens count in the step's and the run's usage.
    const Value* usage = step->find("usage");
    ASSERT_NE(usage, nullptr) << name << ": " << to_json(*step);
    EXPECT_GT(usage->get_int("input_tokens"), 0) << name;
    EXPECT_GT(usage->get_int("output_tokens"), 0) << name;
  }
  const Value* run_usage = result->find("usage");
  ASSERT_NE(run_usage, nullptr) << run.out;
  EXPECT_GE(run_usage->get_int("input_tokens"),
            steps->find("openai_cut_tool")->find("usage")->get_int("input_tokens") +
                steps->find("claude_cut_tool")->find("usage")->get_int("input_tokens"));
  EXPECT_EQ(server.requests_containing("openai-cut-tool").size(), 1u);
  EXPECT_EQ(server.requests_containing("claude-cut-tool").size(), 1u);

  // Out of quota: not a rate limit; sent once, not retried.
  const Value* quota = steps->find("openai_quota");
  ASSERT_NE(quota, nullptr);
  EXPECT_EQ(quota->get_string("error_code"), "invalid_input") << to_json(*quota);
  EXPECT_EQ(quota->get_int("attempts"), 1);
  EXPECT_NE(quota->get_string("error").find("the account's quota is exhausted"), std::string::npos);
  EXPECT_EQ(server.requests_containing("openai-quota").size(), 1u);

  // A text answer cut at the limit stands, says so, and the worker warns naming step and limit.
  const Value* cut_text = steps->find("claude_cut_text");
  ASSERT_NE(cut_text, nullptr);
  EXPECT_TRUE(cut_text->get_bool("success")) << to_json(*cut_text);
  EXPECT_EQ(cut_text->get_string("stop_reason"), "max_tokens");
  EXPECT_TRUE(wait_until(
      [&] {
        return tree.log().find(
                   "claude_cut_text: the answer was cut at the output-token limit "
                   "(max_tokens 64") != std::string::npos;
      },
      10s))
      << tree.log();

  EXPECT_TRUE(steps->find("openai_after")->get_bool("success")) << run.out;
}

}  // namespace
}  // namespace pl::test
