#include "common/pipeline/defaults.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace pl::pipeline {
namespace {

using testing::all_messages;
using testing::json;
using testing::load;

Pipeline loaded(std::string_view yaml) {
  auto r = load(yaml);
  EXPECT_TRUE(r.ok()) << all_messages(r.diagnostics);
  return r.ok() ? *r.pipeline : Pipeline();
}

TEST(Defaults, TimeoutAppliesToStepsThatSetNone) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults: {timeout: 45}
  steps:
    - {name: a, type: echo}
    - {name: b, type: echo, timeout: 5}
)");
  EXPECT_EQ(p.steps[0].timeout_ms, 45000);
  EXPECT_EQ(p.steps[1].timeout_ms, 5000);
}

TEST(Defaults, TimeoutSecondsIsPipelineExsSpellingOfTimeout) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults: {timeout_seconds: 7}
  steps:
    - {name: a, type: echo}
)");
  EXPECT_EQ(p.steps[0].timeout_ms, 7000);
}

TEST(Defaults, TimeoutDoesNotApplyToLoopsOrChildPipelinesButToTheirBodies) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults: {timeout: 10}
  steps:
    - name: l
      type: for_loop
      iterator: i
      items: [1]
      steps: [{name: inner, type: echo}]
    - {name: c, type: pipeline, pipeline_file: c.yaml}
)");
  EXPECT_FALSE(p.steps[0].timeout_ms.has_value());
  EXPECT_EQ(p.steps[0].steps[0].timeout_ms, 10000);
  EXPECT_FALSE(p.steps[1].timeout_ms.has_value());
}

TEST(Defaults, TimeoutBoundsEachTaskOfABatchNotTheWholeBatch) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults: {timeout: 60}
  steps:
    - name: b
      type: claude_batch
      tasks: [{task_id: a, prompt: a}, {task_id: b, prompt: b}]
    - name: p
      type: parallel_claude
      parallel_tasks: [{id: x, prompt: a}]
    - name: own
      type: claude_batch
      timeout: 600
      tasks: [{task_id: a, prompt: a}]
)");
  EXPECT_FALSE(p.steps[0].timeout_ms.has_value());
  EXPECT_EQ(p.steps[0].task_timeout_ms, 60000);
  EXPECT_FALSE(p.steps[1].timeout_ms.has_value());
  EXPECT_EQ(p.steps[1].task_timeout_ms, 60000);
  EXPECT_EQ(p.steps[2].timeout_ms, 600000);  // the step's own: the whole step, and each task
  EXPECT_FALSE(p.steps[2].task_timeout_ms.has_value());
}

TEST(Defaults, ContinueOnErrorAppliesWhereTheStepSaysNothing) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults: {continue_on_error: true}
  steps:
    - {name: a, type: echo}
    - {name: b, type: echo, on_error: fail}
    - {name: c, type: echo, continue_on_error: false}
)");
  EXPECT_EQ(p.steps[0].on_error, OnError::kContinue);
  EXPECT_EQ(p.steps[1].on_error, OnError::kFail);
  EXPECT_EQ(p.steps[2].on_error, OnError::kFail);
}

TEST(Defaults, ProviderAndModelFillLlmSteps) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults: {provider: openai, model: m1}
  steps:
    - {name: a, type: llm, prompt: p}
    - {name: b, type: llm, prompt: p, provider: gemini, model: m2}
)");
  EXPECT_EQ(p.steps[0].options.get_string("provider"), "openai");
  EXPECT_EQ(p.steps[0].options.get_string("model"), "m1");
  EXPECT_EQ(p.steps[1].options.get_string("provider"), "gemini");
  EXPECT_EQ(p.steps[1].options.get_string("model"), "m2");
}

TEST(Defaults, ClaudeOptionsAndModelMergeUnderTheStepsClaudeOptions) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults:
    model: m1
    claude_options: {max_tokens: 100, max_turns: 2}
  steps:
    - {name: a, type: claude, prompt: p, claude_options: {max_turns: 9}}
    - {name: b, type: claude_session, prompt: p, session_config: {session_name: s}}
    - {name: c, type: parallel_claude, parallel_tasks: [{id: t, prompt: p}]}
    - {name: d, type: claude_batch, tasks: [{task_id: t, prompt: p}]}
    - {name: e, type: gemini, prompt: p}
)");
  EXPECT_EQ(*p.steps[0].options.find("claude_options"),
            json(R"({"max_tokens": 100, "max_turns": 9, "model": "m1"})"));
  EXPECT_EQ(*p.steps[1].options.find("claude_options"),
            json(R"({"max_tokens": 100, "max_turns": 2, "model": "m1"})"));
  EXPECT_EQ(*p.steps[2].options.find("parallel_tasks")->as_array()[0].find("claude_options"),
            json(R"({"max_tokens": 100, "max_turns": 2, "model": "m1"})"));
  EXPECT_NE(p.steps[3].options.find("claude_options"), nullptr);
  EXPECT_EQ(p.steps[4].options.find("claude_options"), nullptr);
  EXPECT_EQ(p.steps[4].options.find("model"), nullptr);
}

TEST(Defaults, GeminiModelAndTokenBudgetFillGeminiSteps) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults:
    gemini_model: g1
    gemini_token_budget: {temperature: 0.2, top_k: 5}
  steps:
    - {name: a, type: gemini, prompt: p, token_budget: {top_k: 9}}
    - {name: b, type: gemini_instructor, prompt: p, model: g2}
)");
  EXPECT_EQ(p.steps[0].options.get_string("model"), "g1");
  EXPECT_EQ(*p.steps[0].options.find("token_budget"), json(R"({"temperature": 0.2, "top_k": 9})"));
  EXPECT_EQ(p.steps[1].options.get_string("model"), "g2");
}

TEST(Defaults, PresetFillsClaudeSmartAndClaudeExtract) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults: {claude_preset: analysis}
  steps:
    - {name: a, type: claude_smart, prompt: p}
    - {name: b, type: claude_extract, prompt: p, preset: chat}
)");
  EXPECT_EQ(p.steps[0].options.get_string("preset"), "analysis");
  EXPECT_EQ(p.steps[1].options.get_string("preset"), "chat");
}

TEST(Defaults, PresetFillsClaudeBatchWhichHasAPresetKeyToo) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults: {preset: analysis}
  steps:
    - {name: a, type: claude_batch, tasks: [{task_id: t, prompt: p}]}
    - {name: b, type: claude_batch, preset: chat, tasks: [{task_id: t, prompt: p}]}
    - {name: c, type: claude, prompt: p}
)");
  EXPECT_EQ(p.steps[0].options.get_string("preset"), "analysis");
  EXPECT_EQ(p.steps[1].options.get_string("preset"), "chat");
  EXPECT_EQ(p.steps[2].options.find("preset"), nullptr);  // a claude step has no preset key
}

TEST(Defaults, OutputDirFillsThePipelinesOutputDirWhenUnset) {
  EXPECT_EQ(loaded(R"(workflow:
  name: d
  defaults: {output_dir: ./results}
  steps: [{name: a, type: echo}]
)")
                .output_dir,
            "./results");
  EXPECT_EQ(loaded(R"(workflow:
  name: d
  output_dir: ./mine
  defaults: {output_dir: ./results}
  steps: [{name: a, type: echo}]
)")
                .output_dir,
            "./mine");
}

TEST(Defaults, TemplatedOptionMapsAreLeftAlone) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults: {claude_options: {max_tokens: 1}}
  steps:
    - {name: a, type: claude, prompt: p, claude_options: "{{inputs.opts}}"}
)");
  EXPECT_EQ(*p.steps[0].options.find("claude_options"), Value("{{inputs.opts}}"));
}

TEST(Defaults, ApplyingTwiceChangesNothing) {
  Pipeline p = loaded(R"(workflow:
  name: d
  defaults: {timeout: 3, model: m, claude_options: {max_tokens: 1}, continue_on_error: true}
  steps:
    - {name: a, type: claude, prompt: p}
    - {name: b, type: llm, provider: mock, prompt: p}
)");
  Pipeline again = p;
  apply_defaults(again);
  EXPECT_EQ(again.steps[0].options, p.steps[0].options);
  EXPECT_EQ(again.steps[1].options, p.steps[1].options);
  EXPECT_EQ(again.steps[0].timeout_ms, p.steps[0].timeout_ms);
  EXPECT_EQ(again.steps[0].on_error, p.steps[0].on_error);
}

TEST(Defaults, ApplyDefaultsWorksOnAPipelineBuiltInCode) {
  Pipeline p;
  p.defaults = json(R"({"timeout": "2s", "provider": "mock"})");
  Step s;
  s.name = "x";
  s.type = StepType::kLlm;
  p.steps.push_back(s);
  apply_defaults(p);
  EXPECT_EQ(p.steps[0].timeout_ms, 2000);
  EXPECT_EQ(p.steps[0].options.get_string("provider"), "mock");
}

}  // namespace
}  // namespace pl::pipeline
