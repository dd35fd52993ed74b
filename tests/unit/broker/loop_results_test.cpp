// What loops report: their counts, their entries under the size limits, their stops.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/pipeline/validate.h"
#include "tests/unit/broker/run_execution_fixture.h"

namespace pl::broker {
namespace {

class LoopResultsTest : public RunExecutionTest {};

const char* const kWhileFourTimes = R"(workflow:
  name: t
  steps:
    - name: w
      type: while_loop
      condition: "true"
      max_iterations: 4
      break_on_error: false
      steps:
        - {name: e, type: echo, value: "{{loop.index}}"}
)";

// A while_loop of 5 000 iterations of 4 KB made a result no reply could carry: it keeps its
// entries under the limits a for_loop has.
TEST_F(LoopResultsTest, AWhileLoopOverTheItemsBoundKeepsCountsAndFailuresOnly) {
  RunSettings settings;
  settings.max_inline_items = 2;
  start(kWhileFourTimes, Value::object(), settings);
  complete(completed_++);
  complete(completed_++, /*success=*/false);
  complete(completed_++);
  complete(completed_++);
  ASSERT_TRUE(run_->finished());
  const Value& w = step("w");
  EXPECT_EQ(w.get_int("iterations"), 4);
  EXPECT_EQ(w.get_int("failed"), 1);
  EXPECT_TRUE(w.get_bool("items_omitted"));
  EXPECT_EQ(w.find("items"), nullptr);
  ASSERT_NE(w.find("failures"), nullptr);
  ASSERT_EQ(w.find("failures")->size(), 1u);
  EXPECT_EQ(w.find("failures")->as_array()[0].get_int("index"), 1);
}

TEST_F(LoopResultsTest, AWhileLoopWhoseEntriesOutgrowTheBytesBoundKeepsCountsOnly) {
  RunSettings settings;
  settings.max_inline_bytes = 1000;
  start(kWhileFourTimes, Value::object(), settings);
  for (size_t i = 0; i < 4; ++i) complete_with_text(i, true, std::string(400, 'a'));
  ASSERT_TRUE(run_->finished());
  EXPECT_EQ(step("w").get_int("iterations"), 4);
  EXPECT_TRUE(step("w").get_bool("items_omitted"));
  EXPECT_EQ(step("w").find("items"), nullptr);
}

TEST_F(LoopResultsTest, AWhileLoopUnderTheBoundsListsEveryIterationWithItsError) {
  start(kWhileFourTimes);
  complete(completed_++);
  complete(completed_++, /*success=*/false);
  complete(completed_++);
  complete(completed_++);
  const Value& w = step("w");
  ASSERT_NE(w.find("items"), nullptr);
  const auto& items = w.find("items")->as_array();
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[1].get_int("index"), 1);
  EXPECT_FALSE(items[1].get_bool("success"));
  EXPECT_EQ(items[1].get_string("error"), "step \"e\" (test.yaml:10:11): boom");
  EXPECT_EQ(items[3].find("steps")->find("e")->get_int("data"), 3);
  EXPECT_EQ(w.get_string("stopped"), "max_iterations");
}

TEST_F(LoopResultsTest, LoopScopedVariablesOfAWhileIterationReachTheNextIterationsSteps) {
  start(R"(workflow:
  name: t
  steps:
    - name: count
      type: while_loop
      condition: "default(state.count, 0) < 3"
      max_iterations: 10
      steps:
        - {name: inc, type: set_variable, scope: loop,
           variables: {count: "{{default(state.count, 0) + 1}}"}}
)");
  complete_all();
  ASSERT_TRUE(run_->finished());
  EXPECT_EQ(step("count").get_int("iterations"), 3);
  EXPECT_EQ(step("count").get_string("stopped"), "condition");
  ASSERT_EQ(sink_.submitted.size(), 3u);
  EXPECT_EQ(sink_.submitted[2].input.find("variables")->get_int("count"), 3);
}

// max_iterations runs the first elements; the result says how many there were and how many did
// not run, and loop.total and loop.last speak of the whole list.
TEST_F(LoopResultsTest, AForLoopsMaxIterationsReportsTheRealTotalAndWhatDidNotRun) {
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items: [1, 2, 3, 4, 5]
      max_iterations: 2
      steps:
        - {name: e, type: echo, value: "{{loop.x}} of {{loop.total}} last {{loop.last}}"}
)");
  complete_all();
  ASSERT_TRUE(run_->finished());
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(sink_.submitted[1].input.get_string("value"), "2 of 5 last false");
  const Value& lp = step("lp");
  EXPECT_TRUE(lp.get_bool("success"));
  EXPECT_EQ(lp.get_int("total"), 5);
  EXPECT_EQ(lp.get_int("succeeded"), 2);
  EXPECT_EQ(lp.get_int("not_run"), 3);
  EXPECT_EQ(lp.get_string("stopped"), "max_iterations");
  EXPECT_EQ(lp.find("items")->size(), 2u);  // the elements that ran
}

// A break_condition that cannot be evaluated fails the step as the step's own error: the
// element it was read after counts once, as it finished.
// Validation refuses a reference to any other member of these results (validate.h,
// loop_result_members): a member the broker adds must be listed there, or pipelines that read it
// would be refused.
const char* const kEveryKindOfLoop = R"(workflow:
  name: t
  steps:
    - {name: skipped, type: for_loop, iterator: x, items: [1], condition: "1 > 2", steps: [{name: e, type: echo}]}
    - {name: o, type: for_loop, iterator: x, items: [1], output_to_file: o.json, steps: [{name: e, type: echo}]}
    - name: f
      type: for_loop
      iterator: x
      items: [1, 2, 3, 4]
      max_iterations: 3
      on_error: continue
      steps: [{name: e, type: echo, value: "{{loop.x}}"}]
    - name: g
      type: for_loop
      iterator: x
      items: [1, 2, 3]
      break_condition: "loop.x > 1"
      on_error: continue
      steps: [{name: e, type: echo, value: "{{loop.x}}"}]
    - name: w
      type: while_loop
      condition: "true"
      max_iterations: 3
      break_on_error: false
      on_error: continue
      steps: [{name: e, type: echo, value: "{{loop.index}}"}]
    - {name: p, type: parallel_claude, on_error: continue, parallel_tasks: [{id: a, prompt: x}, {id: b, prompt: y}]}
    - name: b
      type: claude_batch
      tasks: [{id: a, prompt: x}, {id: b, prompt: y}]
      batch_config: {consolidate_results: true}
)";

TEST_F(LoopResultsTest, EveryMemberOfALoopsOrFanOutsResultIsOneValidationKnows) {
  auto loaded = pipeline::load_pipeline_text(kEveryKindOfLoop, "test.yaml");
  ASSERT_TRUE(loaded.ok());
  for (size_t max_inline_items : {size_t{1}, size_t{100}}) {
    SCOPED_TRACE("max_inline_items " + std::to_string(max_inline_items));
    RunSettings settings;
    settings.max_inline_items = max_inline_items;
    run_.reset();
    sink_ = FakeSink();
    completed_ = 0;
    start(kEveryKindOfLoop, Value::object(), settings);
    while (!run_->finished() && completed_ < sink_.submitted.size()) {
      complete_with_text(completed_, /*success=*/completed_ % 3 != 1, "answer");
      ++completed_;
    }
    ASSERT_TRUE(run_->finished());
    for (const pipeline::Step& s : loaded.pipeline->steps) {
      const auto members = pipeline::loop_result_members(s);
      ASSERT_FALSE(members.empty()) << s.name;
      ASSERT_TRUE(step(s.name).is_object()) << s.name;
      for (const auto& [key, value] : step(s.name).as_object()) {
        EXPECT_NE(std::find(members.begin(), members.end(), key), members.end())
            << "step " << s.name << " has \"" << key << "\", which validation does not know";
      }
    }
    EXPECT_TRUE(step("skipped").get_bool("skipped"));
    EXPECT_TRUE(step("o").find("output_file"));
    EXPECT_TRUE(step("g").find("stopped"));
    EXPECT_EQ(step("f").get_int("failed"), 1);
    EXPECT_TRUE(step("b").find("text"));
  }
}

TEST_F(LoopResultsTest, ABreakConditionErrorIsTheStepsErrorNotAnotherFailedItem) {
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items: [1, 2, 3]
      break_condition: "steps.e.data.nothing > 1"
      steps:
        - {name: e, type: echo, value: "{{loop.x}}"}
)");
  complete_all();
  ASSERT_TRUE(run_->finished());
  const Value& lp = step("lp");
  EXPECT_FALSE(lp.get_bool("success"));
  EXPECT_EQ(lp.get_int("succeeded"), 1);
  EXPECT_EQ(lp.get_int("failed"), 0);
  EXPECT_EQ(lp.get_int("not_run"), 2);
  EXPECT_EQ(lp.get_string("stopped"), "error");
  EXPECT_NE(lp.get_string("error").find("break_condition"), std::string::npos)
      << lp.get_string("error");
  EXPECT_EQ(lp.find("items")->size(), 1u);
}

// A break stops at once: an element still running is given up and marked, not left null.
TEST_F(LoopResultsTest, AnElementGivenUpWhenTheLoopBreaksIsMarkedNotRun) {
  start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items: [1, 2, 3, 4]
      parallel: true
      max_parallel: 2
      break_on_error: true
      steps:
        - {name: e, type: echo, value: "{{loop.x}}"}
)");
  ASSERT_EQ(sink_.submitted.size(), 2u);
  complete(1, /*success=*/false);  // the second fails while the first still runs
  ASSERT_TRUE(run_->finished());
  const Value& lp = step("lp");
  EXPECT_EQ(lp.get_int("failed"), 1);
  EXPECT_EQ(lp.get_int("not_run"), 3);
  EXPECT_EQ(lp.get_string("stopped"), "error");
  const auto& items = lp.find("items")->as_array();
  ASSERT_EQ(items.size(), 2u);  // the two that started; the two never started are left out
  EXPECT_TRUE(items[0].get_bool("not_run"));
  EXPECT_FALSE(items[0].get_bool("success"));
  EXPECT_EQ(items[0].get_int("index"), 0);
  EXPECT_FALSE(items[1].get_bool("not_run"));
  EXPECT_EQ(sink_.abandoned, std::vector<std::string>{"r1/s0.i0.s0"});
}

TEST_F(LoopResultsTest, ADataSourceWrittenAsAListIsRenderedAsItemsAre) {
  Value inputs;
  inputs["who"] = "ada";
  start(R"(workflow:
  name: t
  inputs:
    who: {type: string}
  steps:
    - name: lp
      type: for_loop
      iterator: name
      data_source: ["{{inputs.who}}", bob]
      steps:
        - {name: e, type: echo, value: "hi {{loop.name}}"}
)",
        inputs);
  complete_all();
  ASSERT_TRUE(run_->finished());
  ASSERT_EQ(sink_.submitted.size(), 2u);
  EXPECT_EQ(sink_.submitted[0].input.get_string("value"), "hi ada");
  EXPECT_EQ(sink_.submitted[1].input.get_string("value"), "hi bob");
}

}  // namespace
}  // namespace pl::broker
