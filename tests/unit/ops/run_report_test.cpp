// What `pipelinectl run` prints when its run has ended.
#include "cli/run_report.h"

#include <gtest/gtest.h>

#include <sstream>

#include "cli/cli_context.h"
#include "common/json.h"

namespace pl::cli {
namespace {

protocol::RunStatus succeeded_without_its_result() {
  // As the broker answers when the result is over a reply's size (encode_client_reply).
  protocol::RunStatus status;
  status.run_id = "run-1";
  status.state = "succeeded";
  status.result["success"] = true;
  status.result["result_omitted_bytes"] = int64_t{20000000};
  return status;
}

TEST(RunReport, AResultLeftOutOfTheReplyIsSaidOnStderrAndKeptInTheJson) {
  std::ostringstream out, err;
  EXPECT_EQ(report_run(succeeded_without_its_result(), RunTree::kKept, out, err), kExitOk);
  auto shown = parse_json(out.str());
  ASSERT_TRUE(shown.ok()) << out.str();
  EXPECT_EQ(shown->get_int("result_omitted_bytes"), 20000000);
  EXPECT_NE(err.str().find("warning: run run-1's result takes 20000000 bytes"), std::string::npos)
      << err.str();
  EXPECT_NE(err.str().find("`pipelinectl runs export run-1`"), std::string::npos) << err.str();
}

TEST(RunReport, OnAPrivateTreeTheWarningSaysTheStateIsGoneAndHowToKeepIt) {
  std::ostringstream out, err;
  report_run(succeeded_without_its_result(), RunTree::kPrivate, out, err);
  EXPECT_NE(err.str().find("whose state is gone with it"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("start a tree that keeps its state"), std::string::npos) << err.str();
}

TEST(RunReport, AWholeResultIsPrintedWithoutAWarning) {
  protocol::RunStatus status;
  status.run_id = "run-2";
  status.state = "succeeded";
  status.result["success"] = true;
  status.result["steps"]["e"]["text"] = "hi";
  std::ostringstream out, err;
  EXPECT_EQ(report_run(status, RunTree::kKept, out, err), kExitOk);
  auto shown = parse_json(out.str());
  ASSERT_TRUE(shown.ok()) << out.str();
  EXPECT_EQ(shown->find("steps")->find("e")->get_string("text"), "hi");
  EXPECT_EQ(shown->find("result_omitted_bytes"), nullptr);
  EXPECT_EQ(err.str(), "");
}

// A run that ended without success, as the broker reports it.
protocol::RunStatus ended(const std::string& run, const std::string& state,
                          const std::string& error) {
  protocol::RunStatus status;
  status.run_id = run;
  status.state = state;
  status.error = error;
  return status;
}

TEST(RunReport, AFailedRunSaysWhyOnStderrAndExitsOne) {
  std::ostringstream out, err;
  EXPECT_EQ(
      report_run(ended("run-3", "failed", "step \"e\" failed: boom"), RunTree::kKept, out, err),
      kExitFailed);
  EXPECT_NE(err.str().find("run run-3 failed: step \"e\" failed: boom"), std::string::npos)
      << err.str();
}

TEST(RunReport, ACancelledRunSaysSoOnce) {
  std::ostringstream out, err;
  EXPECT_EQ(report_run(ended("run-4", "cancelled", "cancelled"), RunTree::kKept, out, err),
            kExitFailed);
  EXPECT_EQ(err.str(), "pipelinectl: run run-4 cancelled\n");
}

}  // namespace
}  // namespace pl::cli
