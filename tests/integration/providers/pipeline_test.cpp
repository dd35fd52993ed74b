// Whole runs through `pipelinectl run` (a private tree: supervisor, broker, registry, workers)
// whose LLM steps call pipeline-fake-llm, or the mock when no key is set.
#include <gtest/gtest.h>

#include <fstream>

#include "common/ids.h"
#include "common/json.h"
#include "tests/fakes/fake_llm_process.h"
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

}  // namespace
}  // namespace pl::test
