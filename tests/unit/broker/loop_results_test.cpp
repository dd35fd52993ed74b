// What loops report: their counts, their entries under the size limits, their stops.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace pl::broker
