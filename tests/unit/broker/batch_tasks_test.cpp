// The tasks of claude_batch and parallel_claude: where they come from, how they are checked.
#include <gtest/gtest.h>

#include "tests/unit/broker/run_execution_fixture.h"

namespace pl::broker {
namespace {

class BatchTasksTest : public RunExecutionTest {
 protected:
  // The error of the batch's entry for element `index`.
  std::string item_error(size_t index) {
    const Value* items = step("batch").find("items");
    if (!items || index >= items->size()) return "(no entry " + std::to_string(index) + ")";
    return items->as_array()[index].get_string("error");
  }
};

const char* const kBatchOfFile = R"(workflow:
  name: t
  steps:
    - name: batch
      type: claude_batch
      tasks_file: tasks.jsonl
)";

// A tasks_file line is checked as an inline task: a typo fails that task, naming file and
// line, instead of sending an empty prompt; the good lines run.
TEST_F(BatchTasksTest, EachTasksFileLineIsCheckedAsAnInlineTaskIs) {
  make_dir();
  ASSERT_TRUE(write_file_atomic(dir_ / "tasks.jsonl",
                                R"({"task_id": "one", "prompt": "p1"}
{"task_id": "two", "promt": "p2"}
{"task_id": 3, "prompt": "p3"}
{"prompt": "p4"}
{"task_id": "five", "prompt": "p5", "claude_options": {"max_tokns": 5}}
["not", "a", "task"]
)")
                  .ok());
  start(kBatchOfFile);
  complete_all();
  ASSERT_TRUE(run_->finished());
  ASSERT_EQ(sink_.submitted.size(), 2u);  // "one" and 3
  EXPECT_EQ(sink_.submitted[1].input.get_string("task_id"), "3");  // a number is its text
  const Value& batch = step("batch");
  EXPECT_EQ(batch.get_int("total"), 6);
  EXPECT_EQ(batch.get_int("succeeded"), 2);
  EXPECT_EQ(batch.get_int("failed"), 4);
  EXPECT_NE(item_error(1).find("tasks.jsonl:2:"), std::string::npos) << item_error(1);
  EXPECT_NE(item_error(1).find("unknown key \"promt\""), std::string::npos) << item_error(1);
  EXPECT_NE(item_error(1).find("(did you mean \"prompt\"?)"), std::string::npos) << item_error(1);
  EXPECT_EQ(batch.find("items")->as_array()[2].get_string("id"), "3");
  EXPECT_NE(item_error(3).find("tasks.jsonl:4:"), std::string::npos) << item_error(3);
  EXPECT_NE(item_error(3).find("needs a \"task_id\""), std::string::npos) << item_error(3);
  EXPECT_NE(item_error(4).find("tasks.jsonl:5:"), std::string::npos) << item_error(4);
  EXPECT_NE(item_error(4).find("max_tokns"), std::string::npos) << item_error(4);
  EXPECT_NE(item_error(5).find("a task must be a JSON object"), std::string::npos)
      << item_error(5);
}

TEST_F(BatchTasksTest, ATaskIdUsedTwiceInATasksFileIsRefused) {
  make_dir();
  ASSERT_TRUE(write_file_atomic(dir_ / "tasks.jsonl", R"({"task_id": "a", "prompt": "p1"}

{"id": "a", "prompt": "p2"}
)")
                  .ok());
  start(kBatchOfFile);
  complete_all();
  ASSERT_TRUE(run_->finished());
  EXPECT_EQ(sink_.submitted.size(), 1u);
  EXPECT_EQ(step("batch").get_int("failed"), 1);
  EXPECT_NE(item_error(1).find("tasks.jsonl:3: duplicate task id \"a\" (first at line 1)"),
            std::string::npos)
      << item_error(1);
}

// Whatever the line, the others still run: a bad one fails its own element only.
TEST_F(BatchTasksTest, ABadLineInAnItemsFileFailsItsElementAndTheOthersRun) {
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
  EXPECT_EQ(sink_.submitted.size(), 2u);
  const Value& lp = step("lp");
  EXPECT_EQ(lp.get_int("succeeded"), 2);
  EXPECT_EQ(lp.get_int("failed"), 1);
  EXPECT_NE(lp.find("items")->as_array()[1].get_string("error").find("items.jsonl:2"),
            std::string::npos);
}

}  // namespace
}  // namespace pl::broker
