// The tasks of claude_batch and parallel_claude: where they come from, how they are checked.
#include <gtest/gtest.h>

#include <functional>

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
  EXPECT_NE(item_error(1).find("tasks.jsonl:3:8: duplicate task id \"a\" (first at line 1)"),
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

// Four tasks of four consolidated sections of about 400 bytes, finishing out of order, in a
// batch that keeps no items (more than 2) and no text over 1 000 bytes.
const char* const kConsolidatedBatch = R"(workflow:
  name: t
  steps:
    - name: batch
      type: claude_batch
      batch_config: {max_parallel: 4, consolidate_results: true}
      tasks:
        - {task_id: t0, prompt: p}
        - {task_id: t1, prompt: p}
        - {task_id: t2, prompt: p}
        - {task_id: t3, prompt: p}
OUTPUT)";

std::string with_output(const std::string& line) {
  std::string text = kConsolidatedBatch;
  text.replace(text.find("OUTPUT"), 6, line);
  return text;
}

RunSettings small_results() {
  RunSettings settings;
  settings.max_inline_items = 2;
  settings.max_inline_bytes = 1000;
  return settings;
}

void finish_out_of_order(const std::function<void(size_t)>& complete) {
  for (size_t index : {1u, 0u, 3u, 2u}) complete(index);
}

std::string answer(size_t index) {
  return "answer " + std::to_string(index) + std::string(400, 'x');
}

// A batch past its result's limits kept {"items_omitted": true} as its consolidated text: the
// text is built as tasks finish and streamed to the output file, in task order.
TEST_F(BatchTasksTest, AConsolidationTooLargeForTheResultIsStreamedToTheOutputFile) {
  start(with_output("      output_to_file: all.md\n"), Value::object(), small_results());
  ASSERT_EQ(sink_.submitted.size(), 4u);
  finish_out_of_order([&](size_t i) { complete_with_text(i, true, answer(i)); });
  ASSERT_TRUE(run_->finished());
  const Value& batch = step("batch");
  EXPECT_TRUE(batch.get_bool("success")) << batch.get_string("error");
  EXPECT_TRUE(batch.get_bool("items_omitted"));
  EXPECT_EQ(batch.find("text"), nullptr);
  auto written = read_file(dir_ / "outputs" / "all.md");
  ASSERT_TRUE(written.ok()) << written.error().message;
  std::string expected;
  for (size_t i = 0; i < 4; ++i) {
    expected += "## t" + std::to_string(i) + "\n\n" + answer(i) + "\n\n";
  }
  EXPECT_EQ(*written, expected);
  EXPECT_EQ(batch.get_string("text_file"), (dir_ / "outputs" / "all.md").string());
  EXPECT_EQ(batch.get_int("text_bytes"), static_cast<int64_t>(expected.size()));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "outputs" / "batch.consolidated.md"));
}

TEST_F(BatchTasksTest, WithoutAnOutputFileATooLargeConsolidationIsKeptInAFileTheResultNames) {
  start(with_output(""), Value::object(), small_results());
  finish_out_of_order([&](size_t i) { complete_with_text(i, i != 2, answer(i)); });
  ASSERT_TRUE(run_->finished());
  const Value& batch = step("batch");
  const std::string file = (dir_ / "outputs" / "batch.consolidated.md").string();
  EXPECT_EQ(batch.get_string("text_file"), file);
  auto written = read_file(file);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(written->find("## t2"), std::string::npos);  // failed: no section
  EXPECT_LT(written->find("## t1"), written->find("## t3"));
}

TEST_F(BatchTasksTest, ABatchOverTheItemsBoundStillHasItsConsolidatedText) {
  start(with_output(""), Value::object(), small_results());
  finish_out_of_order([&](size_t i) { complete_with_text(i, true, "a" + std::to_string(i)); });
  ASSERT_TRUE(run_->finished());
  const Value& batch = step("batch");
  EXPECT_TRUE(batch.get_bool("items_omitted"));
  EXPECT_EQ(batch.get_string("text"),
            "## t0\n\na0\n\n## t1\n\na1\n\n## t2\n\na2\n\n## t3\n\na3\n\n");
}

}  // namespace
}  // namespace pl::broker
