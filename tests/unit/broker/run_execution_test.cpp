#include "broker/run_execution.h"

#include <gtest/gtest.h>

#include "tests/unit/broker/run_execution_fixture.h"

namespace pl::broker {
namespace {

TEST_F(RunExecutionTest, StepsRunInOrderOneItemAtATime) {
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: echo, value: 1}
    - {name: b, type: echo, value: 2}
)");
  ASSERT_EQ(sink_.submitted.size(), 1u);
  EXPECT_EQ(sink_.submitted[0].item_id, "r1/s0");
  complete(0);
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(sink_.submitted[1].item_id, "r1/s1");
  complete(1);
  ASSERT_TRUE(run_->finished());
  EXPECT_TRUE(run_->result().get_bool("success"));
  EXPECT_EQ(step("b").find("data")->as_int(), 2);
}

TEST_F(RunExecutionTest, OnlyAClaudeRobustItemIsToldItsRetries) {
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: echo, value: 1}
    - {name: b, type: claude_robust, prompt: hi, retry_config: {fallback_action: skip}}
)");
  ASSERT_EQ(sink_.submitted.size(), 1u);
  EXPECT_FALSE(sink_.submitted[0].tell_retries);
  complete(0);
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_TRUE(sink_.submitted[1].tell_retries);  // its fallback waits for the last attempt
  EXPECT_FALSE(sink_.submitted[0].falls_back_without_provider);
  EXPECT_TRUE(sink_.submitted[1].falls_back_without_provider);  // skip calls no provider
}

TEST_F(RunExecutionTest, AnLlmItemNamingNoProviderCountsAgainstTheConfiguredDefault) {
  RunSettings settings;
  settings.default_llm_provider = "anthropic";  // providers.default_provider, as workers read it
  Value inputs = Value::object();
  inputs["none"] = "";  // a provider that renders empty is none
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: llm, prompt: p}
    - {name: b, type: llm, prompt: p, provider: "{{inputs.none}}"}
    - {name: c, type: llm, prompt: p, provider: gemini}
)",
        inputs, settings);
  complete(completed_++);
  complete(completed_++);
  ASSERT_EQ(sink_.submitted.size(), 3u);
  EXPECT_EQ(sink_.submitted[0].provider, "anthropic");
  EXPECT_EQ(sink_.submitted[1].provider, "anthropic");  // as for the worker
  EXPECT_EQ(sink_.submitted[2].provider, "gemini");
}

TEST_F(RunExecutionTest, WithoutAConfiguredDefaultAnLlmItemCountsAgainstOpenAi) {
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: llm, prompt: p}
)");
  ASSERT_EQ(sink_.submitted.size(), 1u);
  EXPECT_EQ(sink_.submitted[0].provider, "openai");
}

TEST_F(RunExecutionTest, TemplatesAreBoundWhenTheStepStartsNotBefore) {
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: echo, value: first}
    - {name: b, type: echo, value: "{{steps.a.text}} then second"}
)");
  complete(0);
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(sink_.submitted[1].input.get_string("value"), "first then second");
}

TEST_F(RunExecutionTest, SetVariableUpdatesStateForLaterSteps) {
  start(R"(workflow:
  name: t
  steps:
    - {name: v, type: set_variable, variables: {n: 41}}
    - {name: b, type: echo, value: "{{state.n + 1}}"}
)");
  complete(0);
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(*sink_.submitted[1].input.find("value"), Value(42));
}

TEST_F(RunExecutionTest, FalseConditionSkipsTheStepWithoutAnItem) {
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: echo, value: 1, condition: "1 > 2"}
    - {name: b, type: echo, value: 2}
)");
  ASSERT_EQ(sink_.submitted.size(), 1u);
  EXPECT_EQ(sink_.submitted[0].item_id, "r1/s1");
  complete(0);
  EXPECT_TRUE(step("a").get_bool("skipped"));
}

TEST_F(RunExecutionTest, UnknownReferenceFailsTheStepNamingIt) {
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: echo, value: "{{state.missing}}"}
)");
  ASSERT_TRUE(run_->finished());
  EXPECT_FALSE(run_->result().get_bool("success"));
  EXPECT_NE(run_->result().get_string("error").find("missing"), std::string::npos)
      << run_->result().get_string("error");
  EXPECT_TRUE(sink_.submitted.empty());
}

TEST_F(RunExecutionTest, FailureStopsTheRunUnlessOnErrorContinue) {
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: echo, value: 1, on_error: continue}
    - {name: b, type: echo, value: 2}
    - {name: c, type: echo, value: 3}
)");
  complete(0, false);
  ASSERT_EQ(sink_.submitted.size(), 2u);
  complete(1, false);
  ASSERT_TRUE(run_->finished());
  EXPECT_FALSE(run_->result().get_bool("success"));
  EXPECT_EQ(sink_.submitted.size(), 2u);  // c never ran
  EXPECT_NE(run_->result().get_string("error").find("\"b\""), std::string::npos);
}

TEST_F(RunExecutionTest, ParallelLoopKeepsAtMostMaxParallelItemsOut) {
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items: [a, b, c, d, e]
      parallel: true
      max_parallel: 2
      steps:
        - {name: e, type: echo, value: "{{loop.x}}-{{loop.index}}"}
)");
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(sink_.submitted[0].item_id, "r1/s0.i0.s0");
  EXPECT_EQ(sink_.submitted[1].input.get_string("value"), "b-1");
  complete(1);
  ASSERT_EQ(sink_.submitted.size(), 3u);
  completed_ = 0;
  complete(0);
  complete(2);
  complete(3);
  complete(4);
  ASSERT_TRUE(run_->finished());
  const Value& loop = step("lp");
  EXPECT_EQ(loop.get_int("succeeded"), 5);
  // Results are by index, whatever the completion order.
  EXPECT_EQ(loop.find("items")->as_array()[1].find("steps")->find("e")->get_string("text"), "b-1");
}

TEST_F(RunExecutionTest, SequentialLoopRunsOneIterationAtATime) {
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: item
      items: [1, 2, 3]
      steps:
        - {name: e, type: echo, value: "{{loop.item}}"}
)");
  EXPECT_EQ(sink_.submitted.size(), 1u);
  complete_all();
  EXPECT_TRUE(run_->result().get_bool("success"));
  EXPECT_EQ(sink_.submitted.size(), 3u);
}

TEST_F(RunExecutionTest, BreakOnErrorStopsLaunchingIterations) {
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: item
      items: [1, 2, 3, 4]
      break_on_error: true
      steps:
        - {name: e, type: echo, value: "{{loop.item}}"}
)");
  complete(0);
  complete(1, false);
  ASSERT_TRUE(run_->finished());
  EXPECT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(step("lp").get_int("not_run"), 2);
}

// An iteration whose body is one plain leaf step runs as that leaf alone, without a sequence
// node; a break_condition keeps the sequence. Both must give the same items, item ids and errors.
TEST_F(RunExecutionTest, ALoneLeafBodyGivesWhatItsSequenceWould) {
  for (const char* on_error : {"fail", "continue"}) {
    std::vector<Value> loops;
    std::vector<std::vector<std::string>> ids;
    for (const char* extra : {"", "      break_condition: \"loop.x == 99\"\n"}) {
      sink_ = FakeSink();
      start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items: [1, 2, 3]
      parallel: true
      steps:
        - {name: e, type: echo, value: "{{loop.x}}", on_error: )" + std::string(on_error) + "}\n" +
            extra);
      ASSERT_EQ(sink_.submitted.size(), 3u) << on_error << extra;
      complete(0);
      complete(1, false);
      Value silent;  // a failure without an error text
      silent["success"] = false;
      run_->on_item_completed(sink_.submitted.at(2).tag, silent);
      ASSERT_TRUE(run_->finished()) << on_error << extra;
      loops.push_back(step("lp"));
      ids.emplace_back();
      for (const auto& spec : sink_.submitted) ids.back().push_back(spec.item_id);
    }
    EXPECT_EQ(loops[0], loops[1]) << on_error << "\n" << to_json(loops[0]) << "\n" << to_json(loops[1]);
    EXPECT_EQ(ids[0], ids[1]) << on_error;
    EXPECT_EQ(ids[0].at(2), "r1/s0.i2.s0");
    const Value::Array& items = loops[0].find("items")->as_array();
    EXPECT_EQ(items.at(1).get_bool("success"), std::string(on_error) == "continue");
    EXPECT_EQ(items.at(2).get_string("error"),
              std::string(on_error) == "continue" ? "" : "step \"e\" failed: ");
  }
}

TEST_F(RunExecutionTest, LoopBodySeesOuterStepsAndNestedLoopsSeeTheirParent) {
  start(R"(workflow:
  name: t
  steps:
    - {name: base, type: echo, value: B}
    - name: outer
      type: for_loop
      iterator: o
      items: [x]
      steps:
        - name: inner
          type: for_loop
          iterator: i
          items: [1]
          steps:
            - {name: e, type: echo, value: "{{steps.base.text}}{{loop.parent.o}}{{loop.i}}"}
)");
  complete(0);
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(sink_.submitted[1].input.get_string("value"), "Bx1");
  EXPECT_EQ(sink_.submitted[1].item_id, "r1/s1.i0.s0.i0.s0");
}

TEST_F(RunExecutionTest, WhileLoopStopsWhenItsConditionTurnsFalse) {
  start(R"(workflow:
  name: t
  steps:
    - {name: init, type: set_variable, variables: {n: 0}}
    - name: count
      type: while_loop
      condition: "state.n < 3"
      max_iterations: 10
      steps:
        - {name: inc, type: set_variable, variables: {n: "{{state.n + 1}}"}}
)");
  complete_all();
  ASSERT_TRUE(run_->finished());
  EXPECT_TRUE(run_->result().get_bool("success"));
  EXPECT_EQ(step("count").get_int("iterations"), 3);
  EXPECT_EQ(step("count").get_string("stopped"), "condition");
}

TEST_F(RunExecutionTest, WhileLoopConditionReadsTheBodysResultsOfTheIterationBefore) {
  // As pipelines.md tells users to write it: the first check has no result yet (the default).
  start(R"(workflow:
  name: t
  steps:
    - name: grow
      type: while_loop
      condition: "default(steps.body.data, 0) < 3"
      max_iterations: 10
      steps:
        - {name: body, type: echo, value: "{{loop.index + 1}}"}
)");
  complete_all();
  ASSERT_TRUE(run_->finished());
  EXPECT_TRUE(run_->result().get_bool("success")) << run_->result().get_string("error");
  EXPECT_EQ(step("grow").get_int("iterations"), 3);
  EXPECT_EQ(step("grow").get_string("stopped"), "condition");
}

TEST_F(RunExecutionTest, WhileLoopConditionReadsLoopScopedStateOfTheIterationBefore) {
  start(R"(workflow:
  name: t
  steps:
    - name: grow
      type: while_loop
      condition: "default(state.seen, 0) < 2"
      max_iterations: 10
      steps:
        - {name: mark, type: set_variable, scope: loop, variables: {seen: "{{loop.index + 1}}"}}
)");
  complete_all();
  ASSERT_TRUE(run_->finished());
  EXPECT_TRUE(run_->result().get_bool("success")) << run_->result().get_string("error");
  EXPECT_EQ(step("grow").get_int("iterations"), 2);
  EXPECT_EQ(step("grow").get_string("stopped"), "condition");
}

TEST_F(RunExecutionTest, AWhileLoopStopsAtAFailedIterationUnlessBreakOnErrorIsFalse) {
  const std::string pipeline = R"(workflow:
  name: t
  steps:
    - name: w
      type: while_loop
      condition: "true"
      max_iterations: 3
      BREAK
      steps:
        - {name: e, type: echo, value: 1}
)";
  auto with = [&](const std::string& line) {
    std::string text = pipeline;
    text.replace(text.find("BREAK"), 5, line);
    return text;
  };
  start(with("break_on_error: true"));
  complete(completed_++);
  complete(completed_++, false);
  ASSERT_TRUE(run_->finished());
  EXPECT_EQ(step("w").get_int("iterations"), 2);
  EXPECT_EQ(step("w").get_string("stopped"), "error");

  sink_ = FakeSink{};
  completed_ = 0;
  start(with("break_on_error: false"));
  complete(completed_++);
  complete(completed_++, false);
  complete(completed_++);
  ASSERT_TRUE(run_->finished());
  EXPECT_FALSE(step("w").get_bool("success"));
  EXPECT_EQ(step("w").get_int("iterations"), 3);
  EXPECT_EQ(step("w").get_int("failed"), 1);
  EXPECT_EQ(step("w").get_string("stopped"), "max_iterations");
  EXPECT_NE(step("w").get_string("error").find("iteration 1: "), std::string::npos)
      << step("w").get_string("error");
}

TEST_F(RunExecutionTest, ABreakConditionThatHoldsStopsTheLoopAfterThatItem) {
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items: [1, 2, 3, 4, 5]
      break_condition: "steps.e.data >= 2"
      steps:
        - {name: e, type: echo, value: "{{loop.x}}"}
    - {name: after, type: echo, value: done}
)");
  complete_all();
  ASSERT_TRUE(run_->finished());
  EXPECT_TRUE(run_->result().get_bool("success")) << run_->result().get_string("error");
  EXPECT_EQ(step("lp").get_int("succeeded"), 2);
  EXPECT_EQ(step("lp").get_int("not_run"), 3);
  EXPECT_EQ(step("after").get_string("text"), "done");
  ASSERT_EQ(sink_.submitted.size(), 3u);  // items 1 and 2, then the step after
}

TEST_F(RunExecutionTest, WhileLoopStopsAtMaxIterations) {
  start(R"(workflow:
  name: t
  steps:
    - name: forever
      type: while_loop
      condition: "true"
      max_iterations: 2
      steps:
        - {name: e, type: echo, value: 1}
)");
  complete_all();
  EXPECT_EQ(step("forever").get_string("stopped"), "max_iterations");
  EXPECT_EQ(sink_.submitted.size(), 2u);
}

TEST_F(RunExecutionTest, OutputToFileIsWrittenInsideTheOutputDirectory) {
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: echo, value: hello, output_to_file: "greeting.txt"}
    - {name: b, type: echo, value: {k: 1}, output_to_file: "data/b.json"}
)");
  complete_all();
  ASSERT_TRUE(run_->result().get_bool("success")) << run_->result().get_string("error");
  EXPECT_EQ(*read_file(dir_ / "outputs/greeting.txt"), "hello");
  EXPECT_EQ(*read_file(dir_ / "outputs/data/b.json"), "{\n  \"k\": 1\n}\n");
}

TEST_F(RunExecutionTest, OutputToFileThatEscapesTheOutputDirectoryFailsTheStep) {
  // Validation refuses such a path written out; one made by a template is known only here.
  Value inputs;
  inputs["up"] = "..";
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: echo, value: x, output_to_file: "{{inputs.up}}/escape.txt"}
)",
        inputs);
  complete_all();
  EXPECT_FALSE(run_->result().get_bool("success"));
  EXPECT_NE(
      run_->result().get_string("error").find("\"../escape.txt\" leaves the output directory"),
      std::string::npos)
      << run_->result().get_string("error");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "escape.txt"));
}

TEST_F(RunExecutionTest, CancelGivesUpEveryOutstandingItem) {
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: item
      items: [1, 2, 3]
      parallel: true
      steps:
        - {name: e, type: echo, value: 1}
)");
  ASSERT_EQ(sink_.submitted.size(), 3u);
  run_->cancel();
  EXPECT_EQ(sink_.abandoned.size(), 3u);
  EXPECT_TRUE(run_->finished());
}

TEST_F(RunExecutionTest, LateCompletionOfAnAbandonedItemIsIgnored) {
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: item
      items: [1, 2]
      parallel: true
      break_on_error: true
      steps:
        - {name: e, type: echo, value: 1}
)");
  complete(0, false);  // the loop breaks; iteration 1 is given up
  ASSERT_TRUE(run_->finished());
  EXPECT_EQ(sink_.abandoned.size(), 1u);
  complete(1);  // arrives anyway
  EXPECT_FALSE(run_->result().get_bool("success"));
}

Value echo_result(Value data) {
  Value r;
  r["success"] = true;
  r["data"] = data;
  return r;
}

// A completion names its leaf by a tag unique in the process: one meant for an earlier
// execution (a run resumed while an item of its previous life was still out) finishes nothing.
TEST_F(RunExecutionTest, ACompletionTaggedForAnotherExecutionIsIgnored) {
  const std::string yaml = "workflow:\n  name: t\n  steps:\n    - {name: e, type: echo, value: 1}\n";
  start(yaml);
  ASSERT_EQ(sink_.submitted.size(), 1u);
  const uint64_t earlier = sink_.submitted[0].tag;
  start(yaml);  // a new execution of the same pipeline, as a resume makes
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_NE(sink_.submitted[1].tag, earlier);
  Value done;
  done["success"] = true;
  run_->on_item_completed(earlier, done);
  EXPECT_FALSE(run_->finished());
  run_->on_item_completed(sink_.submitted[1].tag, done);
  EXPECT_TRUE(run_->finished());
}

TEST_F(RunExecutionTest, RecordedItemsFinishFromTheMemoWithoutBeingDispatched) {
  sink_.memo["r1/s0"] = echo_result(Value(Value::Object{{"n", Value(5)}}));
  sink_.memo["r1/s1.i0.s0"] = echo_result("done before");
  start(R"(workflow:
  name: t
  steps:
    - {name: v, type: set_variable, variables: {n: 5}}
    - name: lp
      type: for_loop
      iterator: x
      items: [a, b]
      steps:
        - {name: e, type: echo, value: "{{state.n}}{{loop.x}}"}
)");
  // The set_variable and the first iteration came from the memo; only iteration 1 runs, and
  // it sees the state the memo rebuilt.
  ASSERT_EQ(sink_.submitted.size(), 1u);
  EXPECT_EQ(sink_.submitted[0].item_id, "r1/s1.i1.s0");
  EXPECT_EQ(sink_.submitted[0].input.get_string("value"), "5b");
  complete(0);
  ASSERT_TRUE(run_->finished());
  EXPECT_TRUE(run_->result().get_bool("success"));
  EXPECT_EQ(run_->progress().replayed, 2u);
}

TEST_F(RunExecutionTest, ALongRunReplaysWithoutRecursion) {
  std::string yaml = "workflow:\n  name: t\n  steps:\n";
  for (int i = 0; i < 5000; ++i) {
    yaml += "    - {name: s" + std::to_string(i) + ", type: echo, value: 1}\n";
    sink_.memo["r1/s" + std::to_string(i)] = echo_result(1);
  }
  start(yaml);
  ASSERT_TRUE(run_->finished());
  EXPECT_TRUE(run_->result().get_bool("success"));
  EXPECT_TRUE(sink_.submitted.empty());
}

TEST_F(RunExecutionTest, LoopWaitsForBrokerCapacityInsteadOfQueueing) {
  sink_.capacity = 2;
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items: [1, 2, 3, 4, 5]
      parallel: true
      max_parallel: 5
      steps:
        - {name: e, type: echo, value: "{{loop.x}}"}
)");
  EXPECT_EQ(sink_.submitted.size(), 2u);
  EXPECT_TRUE(run_->waiting_for_capacity());
  complete_all();
  ASSERT_TRUE(run_->finished());
  EXPECT_EQ(step("lp").get_int("succeeded"), 5);
}

TEST_F(RunExecutionTest, ItemsFileIsReadLineByLineWithStableIndexes) {
  make_dir();
  ASSERT_TRUE(write_file_atomic(dir_ / "items.jsonl", "{\"n\": 1}\n\n{\"n\": 2}\n{\"n\": 3}").ok());
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items_file: items.jsonl
      parallel: true
      steps:
        - {name: e, type: echo, value: "{{loop.x.n}} of {{loop.total}}"}
)");
  ASSERT_EQ(sink_.submitted.size(), 3u);
  EXPECT_EQ(sink_.submitted[2].input.get_string("value"), "3 of 3");
  EXPECT_EQ(sink_.submitted[2].item_id, "r1/s0.i2.s0");
  complete_all();
  EXPECT_TRUE(run_->result().get_bool("success"));
}

TEST_F(RunExecutionTest, BadLineInAnItemsFileFailsTheLoopNamingTheLine) {
  make_dir();
  ASSERT_TRUE(write_file_atomic(dir_ / "items.jsonl", "1\n{oops\n3\n").ok());
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items_file: items.jsonl
      steps:
        - {name: e, type: echo, value: "{{loop.x}}"}
)");
  complete_all();
  ASSERT_TRUE(run_->finished());
  EXPECT_FALSE(run_->result().get_bool("success"));
  EXPECT_NE(run_->result().get_string("error").find("items.jsonl:2"), std::string::npos)
      << run_->result().get_string("error");
  // Its entry says which element it was, as every entry does.
  const auto& items = step("lp").find("items")->as_array();
  ASSERT_EQ(items.size(), 3u) << to_json(step("lp"));
  EXPECT_FALSE(items[1].get_bool("success"));
  EXPECT_EQ(items[1].get_int("index", -1), 1);
  EXPECT_EQ(step("lp").get_int("failed"), 1);
}

TEST_F(RunExecutionTest, ParallelClaudeRunsEachTaskAsAClaudeItem) {
  start(R"(workflow:
  name: t
  steps:
    - name: fan
      type: parallel_claude
      max_parallel: 2
      parallel_tasks:
        - {id: a, prompt: "first", claude_options: {max_tokens: 10}}
        - {id: b, prompt: "second"}
        - {id: c, prompt: "third"}
)");
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(sink_.submitted[0].step_type, "claude");
  EXPECT_EQ(sink_.submitted[0].input.get_string("prompt"), "first");
  EXPECT_EQ(sink_.submitted[0].input.find("claude_options")->get_int("max_tokens"), 10);
  EXPECT_EQ(sink_.submitted[1].item_id, "r1/s0.t1");
  complete_all();
  ASSERT_TRUE(run_->finished());
  const Value& fan = step("fan");
  EXPECT_EQ(fan.get_int("succeeded"), 3);
  EXPECT_EQ(fan.find("items")->as_array()[2].get_string("id"), "c");
}

TEST_F(RunExecutionTest, ClaudeBatchUsesItsBatchConfigAndConsolidates) {
  start(R"(workflow:
  name: t
  steps:
    - name: batch
      type: claude_batch
      batch_config: {max_parallel: 1, timeout_per_task: 1500, consolidate_results: true}
      tasks:
        - {task_id: one, prompt: "p1"}
        - {task_id: two, prompt: "p2"}
)");
  ASSERT_EQ(sink_.submitted.size(), 1u);
  EXPECT_EQ(sink_.submitted[0].timeout_ms, 1500);
  complete_all();
  const Value& batch = step("batch");
  EXPECT_TRUE(batch.get_bool("success"));
  EXPECT_NE(batch.get_string("text").find("## two"), std::string::npos) << batch.get_string("text");
}

TEST_F(RunExecutionTest, AWhileLoopsAndAChildPipelinesTimeoutBoundTheWholeStep) {
  for (const std::string& step_text : {std::string(R"(    - name: slow
      type: while_loop
      condition: "true"
      max_iterations: 100
      timeout: 1
      steps:
        - {name: e, type: echo, value: 1}
)"),
                                      std::string(R"(    - name: slow
      type: pipeline
      config: {timeout_seconds: 1}
      pipeline:
        name: inner
        steps:
          - {name: e, type: echo, value: 1}
          - {name: f, type: echo, value: 2}
)")}) {
    sink_ = FakeSink();
    completed_ = 0;
    start("workflow:\n  name: t\n  steps:\n" + step_text);
    ASSERT_EQ(sink_.submitted.size(), 1u);
    complete(completed_++);
    EXPECT_EQ(run_->next_deadline(), TimePoint{} + std::chrono::seconds(1));
    run_->on_tick(TimePoint{} + std::chrono::seconds(1));
    ASSERT_TRUE(run_->finished()) << step_text;
    EXPECT_EQ(step("slow").get_string("error_code"), "timeout") << step_text;
    EXPECT_EQ(sink_.abandoned.size(), 1u) << step_text;  // the second item, given up
  }
}

TEST_F(RunExecutionTest, ADefaultTimeoutBoundsEachTaskOfABatchNotTheBatch) {
  start(R"(workflow:
  name: t
  defaults: {timeout: 60}
  steps:
    - name: batch
      type: claude_batch
      batch_config: {max_parallel: 1}
      tasks:
        - {task_id: one, prompt: "p1"}
        - {task_id: two, prompt: "p2"}
)");
  ASSERT_EQ(sink_.submitted.size(), 1u);
  EXPECT_EQ(sink_.submitted[0].timeout_ms, 60000);
  EXPECT_EQ(run_->next_deadline(), TimePoint::max());  // no deadline for the whole batch
  complete(completed_++);
  run_->on_tick(TimePoint{} + std::chrono::seconds(61));  // a minute has gone: the batch goes on
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(sink_.submitted[1].timeout_ms, 60000);
  complete(completed_++);
  ASSERT_TRUE(run_->finished());
  EXPECT_TRUE(step("batch").get_bool("success")) << step("batch").get_string("error");
}

TEST_F(RunExecutionTest, LargeLoopsKeepCountsAndFailuresInsteadOfEveryItem) {
  RunSettings settings;
  settings.max_inline_items = 2;
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items: [1, 2, 3]
      steps:
        - {name: e, type: echo, value: "{{loop.x}}"}
)",
        Value::object(), settings);
  complete(completed_++);
  complete(completed_++, false);
  complete(completed_++);
  const Value& lp = step("lp");
  EXPECT_TRUE(lp.get_bool("items_omitted"));
  EXPECT_EQ(lp.find("items"), nullptr);
  ASSERT_EQ(lp.find("failures")->size(), 1u);
  EXPECT_EQ(lp.find("failures")->as_array()[0].get_int("index"), 1);
}

// 10 000 LLM answers of 2 KB would make a result no reply could carry: past max_inline_bytes a
// loop keeps counts and failures, as past max_inline_items (loop_of_four_answers).
TEST_F(RunExecutionTest, ALoopUnderTheBytesBoundKeepsEveryItem) {
  const Value lp = loop_of_four_answers(100000);
  ASSERT_NE(lp.find("items"), nullptr);
  EXPECT_EQ(lp.find("items")->size(), 4u);
  EXPECT_FALSE(lp.get_bool("items_omitted"));
}

TEST_F(RunExecutionTest, ALoopWhoseItemsOutgrowTheBytesBoundKeepsCountsAndFailuresOnly) {
  const Value lp = loop_of_four_answers(1000);  // four answers take 1 600 bytes and more
  EXPECT_EQ(lp.get_int("total"), 4);
  EXPECT_EQ(lp.get_int("failed"), 1);
  EXPECT_TRUE(lp.get_bool("items_omitted"));
  EXPECT_EQ(lp.find("items"), nullptr);
  ASSERT_EQ(lp.find("failures")->size(), 1u);
  EXPECT_EQ(lp.find("failures")->as_array()[0].get_int("index"), 3);
}

TEST_F(RunExecutionTest, NestedPipelineRunsWithItsOwnInputsAndMapsOutputsBack) {
  make_dir();
  ASSERT_TRUE(write_file_atomic(dir_ / "child.yaml", R"(workflow:
  name: child
  inputs:
    who: {type: string, required: true}
  steps:
    - {name: hello, type: echo, value: {greeting: "hi {{inputs.who}}", n: 3}}
)").ok());
  start(R"(workflow:
  name: parent
  steps:
    - {name: name, type: echo, value: Ada}
    - name: sub
      type: pipeline
      pipeline_file: child.yaml
      inputs: {who: "{{steps.name.text}}"}
      outputs: [hello, {path: hello.n, as: count}]
    - {name: after, type: echo, value: "{{steps.sub.data.count}}"}
)");
  complete(completed_++);
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(sink_.submitted[1].item_id, "r1/s1.p.s0");
  EXPECT_EQ(sink_.submitted[1].input.find("value")->get_string("greeting"), "hi Ada");
  ASSERT_NE(sink_.submitted[1].context, nullptr);
  EXPECT_EQ(sink_.submitted[1].context->get_string("pipeline_dir"), dir_.string());
  complete_all();
  ASSERT_TRUE(run_->finished());
  ASSERT_TRUE(run_->result().get_bool("success")) << run_->result().get_string("error");
  EXPECT_EQ(*step("after").find("data"), Value(3));
  EXPECT_EQ(step("sub").get_string("pipeline"), "child");
}

TEST_F(RunExecutionTest, InlinePipelineRuns) {
  start(R"(workflow:
  name: parent
  steps:
    - name: sub
      type: pipeline
      pipeline:
        name: inner
        steps:
          - {name: x, type: echo, value: inside}
      outputs: [x]
)");
  complete_all();
  ASSERT_TRUE(run_->result().get_bool("success")) << run_->result().get_string("error");
  EXPECT_EQ(step("sub").find("data")->find("x")->get_string("text"), "inside");
}

TEST_F(RunExecutionTest, AChildThatInheritsContextSeesTheParentsStateAndGlobalsUnderItsOwn) {
  const std::string parent = R"(workflow:
  name: parent
  global_vars: {who: parent, region: eu}
  steps:
    - {name: init, type: set_variable, variables: {n: 7}}
    - name: sub
      type: pipeline
      CONFIG
      pipeline:
        name: inner
        global_vars: {who: child}
        steps:
          - {name: x, type: echo, value: "{{default(state.n, 0)}}-{{global_vars.who}}-{{default(global_vars.region, 'none')}}"}
      outputs: [x]
)";
  for (const auto& [config, expected] :
       {std::pair<std::string, std::string>{"config: {inherit_context: true}", "7-child-eu"},
        std::pair<std::string, std::string>{"config: {inherit_context: false}", "0-child-none"}}) {
    sink_ = FakeSink();
    completed_ = 0;
    std::string text = parent;
    text.replace(text.find("CONFIG"), 6, config);
    start(text);
    complete_all();
    ASSERT_TRUE(run_->finished());
    ASSERT_TRUE(run_->result().get_bool("success")) << run_->result().get_string("error");
    EXPECT_EQ(step("sub").find("data")->find("x")->get_string("text"), expected) << config;
  }
}

// A pipeline_file child that inherits the context names the parent's global_vars and state,
// which it does not declare: the broker's own check of the file must allow that.
TEST_F(RunExecutionTest, AFileChildThatInheritsContextMayNameTheParentsGlobalsAndState) {
  make_dir();
  ASSERT_TRUE(write_file_atomic(dir_ / "child.yaml", R"(workflow:
  name: child
  steps:
    - {name: x, type: echo, value: "{{global_vars.audience}} {{state.mood}}"}
)").ok());
  start(R"(workflow:
  name: parent
  global_vars: {audience: everyone}
  steps:
    - {name: init, type: set_variable, variables: {mood: calm}}
    - name: sub
      type: pipeline
      pipeline_file: child.yaml
      config: {inherit_context: true}
      outputs: [x]
)");
  complete_all();
  ASSERT_TRUE(run_->finished());
  ASSERT_TRUE(run_->result().get_bool("success")) << run_->result().get_string("error");
  EXPECT_EQ(step("sub").find("data")->find("x")->get_string("text"), "everyone calm");
}

TEST_F(RunExecutionTest, AnOutputTheChildPipelineDoesNotHaveFailsTheStepNamingIt) {
  start(R"(workflow:
  name: parent
  steps:
    - name: sub
      type: pipeline
      pipeline:
        name: inner
        steps:
          - {name: x, type: echo, value: inside}
      outputs: [x.nothing]
)");
  complete_all();
  ASSERT_TRUE(run_->finished());
  EXPECT_FALSE(step("sub").get_bool("success"));
  EXPECT_NE(step("sub").get_string("error").find(
                "output \"x.nothing\" is not in the child pipeline's results"),
            std::string::npos)
      << step("sub").get_string("error");
}

TEST_F(RunExecutionTest, NestingBeyondMaxDepthFailsTheStep) {
  start(R"(workflow:
  name: parent
  steps:
    - name: sub
      type: pipeline
      config: {max_depth: 1}
      pipeline:
        name: inner
        steps:
          - name: subsub
            type: pipeline
            pipeline:
              name: innermost
              steps:
                - {name: x, type: echo, value: inside}
)");
  ASSERT_TRUE(run_->finished());
  EXPECT_FALSE(run_->result().get_bool("success"));
  EXPECT_NE(run_->result().get_string("error").find("max_depth"), std::string::npos)
      << run_->result().get_string("error");
}

TEST_F(RunExecutionTest, PreviousResponsePartsCarryTheEarlierStepsText) {
  start(R"(workflow:
  name: t
  steps:
    - {name: draft, type: echo, value: "first draft"}
    - name: review
      type: claude
      prompt:
        - {type: static, content: "Review this:"}
        - {type: previous_response, step: draft}
)");
  complete(completed_++);
  ASSERT_EQ(sink_.submitted.size(), 2u);
  const Value& part = sink_.submitted[1].input.find("prompt")->as_array()[1];
  EXPECT_EQ(part.get_string("content"), "first draft");
  EXPECT_EQ(sink_.submitted[1].provider, "anthropic");
}

TEST_F(RunExecutionTest, DataTransformGetsItsInputSourceResolved) {
  start(R"(workflow:
  name: t
  steps:
    - {name: fetch, type: echo, value: [3, 1, 2]}
    - name: tidy
      type: data_transform
      input_source: steps.fetch.data
      operations:
        - {operation: sort}
)");
  complete(completed_++);
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(sink_.submitted[1].input.find("input_source_value")->size(), 3u);
}

TEST_F(RunExecutionTest, AJoinsRightSourceIsABareReferenceOrOneTemplate) {
  start(R"(workflow:
  name: t
  steps:
    - {name: orders, type: echo, value: [{id: 7, user: 3}]}
    - {name: users, type: echo, value: [{id: 3, name: ann}]}
    - name: joined
      type: data_transform
      input_source: steps.orders.data
      operations:
        - {operation: join, right_source: "{{ steps.users.data }}", left_field: user, join_key: id}
        - {operation: join, right_source: steps.users.data, left_field: user, join_key: id}
)");
  complete(completed_++);
  complete(completed_++);
  ASSERT_EQ(sink_.submitted.size(), 3u) << to_json(run_->result());
  const Value::Array& ops = sink_.submitted[2].input.find("operations")->as_array();
  const Value users = *parse_json(R"([{"id": 3, "name": "ann"}])");
  EXPECT_EQ(*ops[0].find("right_source_value"), users);
  EXPECT_EQ(*ops[1].find("right_source_value"), users);
}

TEST_F(RunExecutionTest, AnInputSourceTemplateThatRendersToAStringIsDataNotAReference) {
  start(R"(workflow:
  name: t
  global_vars: {secret: [1, 2]}
  steps:
    - {name: llm, type: echo, value: "global_vars.secret"}
    - name: tidy
      type: data_transform
      input_source: "{{ steps.llm.text }}"
      operations: [{operation: sort}]
)");
  complete(completed_++);
  ASSERT_EQ(sink_.submitted.size(), 2u) << to_json(run_->result());
  EXPECT_EQ(to_json(*sink_.submitted[1].input.find("input_source_value")),
            "\"global_vars.secret\"");
}

TEST_F(RunExecutionTest, RunResultSumsTheUsageOfItsItems) {
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: echo, value: 1}
    - {name: b, type: echo, value: 2}
)");
  for (int i = 0; i < 2; ++i) {
    Value result;
    result["success"] = true;
    result["usage"]["input_tokens"] = 10;
    result["usage"]["output_tokens"] = 5;
    result["usage"]["cost_usd"] = 0.25;
    run_->on_item_completed(sink_.submitted.at(static_cast<size_t>(i)).tag, result);
  }
  ASSERT_TRUE(run_->finished());
  const Value* usage = run_->result().find("usage");
  ASSERT_NE(usage, nullptr);
  EXPECT_EQ(usage->get_int("input_tokens"), 20);
  EXPECT_EQ(usage->get_int("output_tokens"), 10);
  EXPECT_DOUBLE_EQ(usage->find("cost_usd")->as_double(), 0.5);
}

// A watcher polls now and then: a loop that ended stays in the progress for a while with its
// final counts, marked finished, so that the watcher sees how it ended.
TEST_F(RunExecutionTest, ALoopThatEndedStaysInTheProgressForAWhileMarkedFinished) {
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items: [1, 2]
      steps:
        - {name: e, type: echo, value: "{{loop.x}}"}
    - {name: after, type: echo, value: 1}
)");
  complete(completed_++);
  const Value running = run_->loop_progress();
  ASSERT_EQ(running.size(), 1u) << to_json(running);
  EXPECT_EQ(running.as_array()[0].get_int("done"), 1);
  EXPECT_EQ(running.as_array()[0].find("finished"), nullptr);

  complete(completed_++);  // the loop ends; `after` runs
  ASSERT_FALSE(run_->finished());
  const Value ended = run_->loop_progress();
  ASSERT_EQ(ended.size(), 1u) << to_json(ended);
  EXPECT_EQ(ended.as_array()[0].get_string("step"), "lp");
  EXPECT_EQ(ended.as_array()[0].get_int("done"), 2);
  EXPECT_EQ(ended.as_array()[0].get_int("total"), 2);
  EXPECT_TRUE(ended.as_array()[0].get_bool("finished"));

  run_->on_tick(TimePoint{} + std::chrono::seconds(11));
  EXPECT_EQ(run_->loop_progress().size(), 0u) << to_json(run_->loop_progress());
}

// A loop inside a loop ends once per iteration: what is kept of the ended ones is bounded.
TEST_F(RunExecutionTest, TheLoopsThatEndedAreKeptBoundedInNumber) {
  start(R"(workflow:
  name: t
  steps:
    - name: outer
      type: for_loop
      iterator: x
      items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
      steps:
        - name: inner
          type: for_loop
          iterator: y
          items: [1]
          steps:
            - {name: e, type: echo, value: "{{loop.y}}"}
    - {name: after, type: echo, value: 1}
)");
  for (int i = 0; i < 20; ++i) complete(completed_++);
  ASSERT_FALSE(run_->finished());
  const Value loops = run_->loop_progress();
  EXPECT_EQ(loops.size(), 16u) << to_json(loops);
}

TEST_F(RunExecutionTest, ALoopsTimeoutBoundsTheWholeLoopAndCancelsWhatRuns) {
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items: [1, 2, 3, 4]
      parallel: true
      max_parallel: 2
      timeout: 1
      steps:
        - {name: e, type: echo, value: "{{loop.x}}"}
    - {name: after, type: echo, value: never}
)");
  ASSERT_EQ(sink_.submitted.size(), 2u);
  complete(completed_++);
  EXPECT_EQ(run_->next_deadline(), TimePoint{} + std::chrono::seconds(1));
  run_->on_tick(TimePoint{} + std::chrono::milliseconds(999));
  EXPECT_FALSE(run_->finished());
  run_->on_tick(TimePoint{} + std::chrono::seconds(1));
  ASSERT_TRUE(run_->finished());
  EXPECT_FALSE(run_->result().get_bool("success"));
  EXPECT_EQ(step("lp").get_string("error_code"), "timeout");
  EXPECT_EQ(step("lp").get_int("succeeded"), 1);
  // The shape of a loop that stopped early: what ran, and what was given up unfinished.
  EXPECT_EQ(step("lp").get_string("stopped"), "error");
  EXPECT_EQ(step("lp").get_int("not_run"), 3);
  const auto& items = step("lp").find("items")->as_array();
  ASSERT_EQ(items.size(), 3u) << to_json(step("lp"));  // 0 done; 1 and 2 started, given up
  EXPECT_TRUE(items[0].get_bool("success"));
  for (size_t i : {1u, 2u}) {
    EXPECT_EQ(items[i].get_int("index"), static_cast<int64_t>(i));
    EXPECT_TRUE(items[i].get_bool("not_run"));
  }
  EXPECT_GE(sink_.abandoned.size(), 1u);  // what was running is given up
  EXPECT_EQ(step("after").find("success"), nullptr);
}

TEST_F(RunExecutionTest, AnUnknownPriceIsCountedNotAddedAsZero) {
  start(R"(workflow:
  name: t
  steps:
    - {name: a, type: echo, value: 1}
)");
  Value result;
  result["success"] = true;
  result["usage"]["input_tokens"] = 10;
  result["usage"]["output_tokens"] = 5;
  result["usage"]["cost_usd"] = Value();
  run_->on_item_completed(sink_.submitted.at(0).tag, result);
  ASSERT_TRUE(run_->finished());
  EXPECT_EQ(run_->result().find("usage")->get_int("unpriced_calls"), 1);
}

TEST_F(RunExecutionTest, BatchTasksGetTheSharedPromptFirst) {
  start(R"(workflow:
  name: t
  steps:
    - name: batch
      type: claude_batch
      preset: chat
      prompt: "Answer in one sentence."
      tasks:
        - {task_id: a, prompt: "Field: maths"}
)");
  ASSERT_EQ(sink_.submitted.size(), 1u);
  const Value& prompt = *sink_.submitted[0].input.find("prompt");
  ASSERT_TRUE(prompt.is_array());
  ASSERT_EQ(prompt.size(), 2u);
  EXPECT_EQ(prompt.as_array()[0].get_string("content"), "Answer in one sentence.");
  EXPECT_EQ(prompt.as_array()[1].get_string("content"), "Field: maths");
  EXPECT_EQ(sink_.submitted[0].input.get_string("preset"), "chat");
}

TEST_F(RunExecutionTest, PreviousResponseCanExtractABatchTaskById) {
  start(R"(workflow:
  name: t
  steps:
    - name: fan
      type: parallel_claude
      parallel_tasks:
        - {id: list_files, prompt: "list"}
        - {id: other, prompt: "other"}
    - name: report
      type: claude
      prompt:
        - {type: previous_response, step: fan, extract: list_files}
)");
  for (size_t i = 0; i < 2; ++i) {
    Value r;
    r["success"] = true;
    r["text"] = "answer " + std::to_string(i);
    run_->on_item_completed(sink_.submitted[i].tag, r);
  }
  ASSERT_EQ(sink_.submitted.size(), 3u);
  const Value& part = sink_.submitted[2].input.find("prompt")->as_array()[0];
  EXPECT_EQ(part.get_string("content"), "answer 0");
}

}  // namespace
}  // namespace pl::broker
