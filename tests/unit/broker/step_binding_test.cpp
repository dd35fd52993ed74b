// What the broker binds into a step's input before it is dispatched: previous_response parts.
#include "broker/step_binding.h"

#include <gtest/gtest.h>

#include "tests/unit/broker/run_execution_fixture.h"

namespace pl::broker {
namespace {

class StepBindingTest : public RunExecutionTest {
 protected:
  // A review step whose prompt reads `draft`'s response (`part` is the prompt part), after
  // `draft`.
  void start_review(const std::string& draft, const std::string& part) {
    start("workflow:\n  name: t\n  steps:\n    - " + draft +
          "\n    - name: review\n      type: claude\n      prompt:\n"
          "        - {type: static, content: \"Review:\"}\n        - " + part + "\n");
  }
  // The review step's error, once the run has finished.
  std::string review_error() {
    if (!run_->finished()) {
      ADD_FAILURE() << "the run goes on: the review step was dispatched";
      return "";
    }
    EXPECT_FALSE(step("review").get_bool("success"));
    return step("review").get_string("error");
  }
};

TEST_F(StepBindingTest, AResponseOfASkippedStepFailsTheStepInsteadOfSendingItsResult) {
  start_review("{name: draft, type: echo, value: x, condition: false}",
               "{type: previous_response, step: draft}");
  EXPECT_TRUE(sink_.submitted.empty());  // no LLM call with {"skipped": true} for a prompt
  EXPECT_NE(review_error().find("prompt part 2: step \"draft\" was skipped"), std::string::npos)
      << review_error();
}

TEST_F(StepBindingTest, AResponseOfAFailedStepFailsTheStep) {
  start_review("{name: draft, type: echo, value: x, on_error: continue}",
               "{type: previous_response, step: draft}");
  complete(completed_++, /*success=*/false);
  EXPECT_EQ(sink_.submitted.size(), 1u);
  EXPECT_NE(review_error().find("step \"draft\" failed and has no response"), std::string::npos)
      << review_error();
}

TEST_F(StepBindingTest, AResponseOfAStepWithNeitherTextNorDataAsksForAnExtract) {
  start_review(R"(name: draft
      type: for_loop
      iterator: x
      items: [1, 2]
      steps:
        - {name: e, type: echo, value: "{{loop.x}}"})",
               "{type: previous_response, step: draft}");
  complete_all();
  EXPECT_NE(review_error().find("step \"draft\" has neither text nor data"), std::string::npos)
      << review_error();
}

TEST_F(StepBindingTest, AResponseOfABatchWhoseConsolidatedTextWentToAFileSaysWhere) {
  RunSettings settings;
  settings.max_inline_bytes = 100;  // the consolidated text outgrows it: it goes to a file
  start(R"(workflow:
  name: t
  steps:
    - name: draft
      type: claude_batch
      tasks: [{id: a, prompt: x}, {id: b, prompt: y}]
      batch_config: {consolidate_results: true}
    - name: review
      type: claude
      prompt: [{type: previous_response, step: draft}]
)",
        Value::object(), settings);
  complete_with_text(completed_++, true, std::string(80, 'a'));
  complete_with_text(completed_++, true, std::string(80, 'b'));
  ASSERT_TRUE(step("draft").find("text_file")) << to_json(step("draft"));
  EXPECT_EQ(sink_.submitted.size(), 2u);  // no LLM call with a prompt of that size
  EXPECT_NE(review_error().find("step \"draft\"'s consolidated text is "), std::string::npos)
      << review_error();
  EXPECT_NE(review_error().find(", written to " + step("draft").get_string("text_file")),
            std::string::npos)
      << review_error();
}

TEST_F(StepBindingTest, AnExtractReadsTheFieldItNamesEvenWithoutAResponse) {
  start_review("{name: draft, type: echo, value: x, on_error: continue}",
               "{type: previous_response, step: draft, extract: error}");
  complete(completed_++, /*success=*/false);
  ASSERT_EQ(sink_.submitted.size(), 2u);
  const Value& part = sink_.submitted[1].input.find("prompt")->as_array()[1];
  EXPECT_NE(part.get_string("content").find("boom"), std::string::npos);
}

}  // namespace
}  // namespace pl::broker
