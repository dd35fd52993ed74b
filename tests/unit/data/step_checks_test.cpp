#include "worker/data/step_checks.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/pipeline/loader.h"
#include "common/pipeline/validate.h"

namespace pl::worker::data {
namespace {

// The diagnostics of validating `yaml` with the data steps' checks, formatted one per line.
std::vector<std::string> validate_with_checks(std::string_view yaml) {
  auto loaded = pipeline::load_pipeline_text(yaml, "p.yaml");
  std::vector<std::string> out;
  for (const auto& d : loaded.diagnostics) out.push_back(pipeline::format_diagnostic(d));
  if (!loaded.ok()) return out;
  pipeline::ValidateOptions options;
  options.check_step_options = check_data_step_options;
  for (const auto& d : pipeline::validate_pipeline(*loaded.pipeline, options)) {
    out.push_back(pipeline::format_diagnostic(d));
  }
  return out;
}

constexpr std::string_view kRowsStep = R"(workflow:
  name: data
  steps:
    - {name: rows, type: set_variable, variables: {rows: [{a: 1, k: x}], more: [{k: x}]}}
)";

std::string with_steps(std::string_view steps) { return std::string(kRowsStep) + std::string(steps); }

TEST(DataStepChecks, AnOperationsEntryIsReadAsTheWorkerReadsItAndNamedAtItsLine) {
  auto said = validate_with_checks(with_steps(R"(    - name: t
      type: data_transform
      input_source: state.rows
      operations:
        - {operation: sort, field: a}
        - operation: filter
        - {operation: sort, field: a, condition: "a > 1"}
)"));
  ASSERT_EQ(said.size(), 2u) << testing::PrintToString(said);
  EXPECT_EQ(said[0], "p.yaml:10:11: error: data_transform step \"t\": operation 1 (filter): needs a "
                     "\"condition\"");
  EXPECT_EQ(said[1], "p.yaml:11:11: error: data_transform step \"t\": operation 2 (sort): key "
                     "\"condition\" does not apply to sort");
}

TEST(DataStepChecks, AJoinsRightSourceIsAReferenceResolvedAtDispatchNotAnError) {
  auto said = validate_with_checks(with_steps(R"(    - name: t
      type: data_transform
      input_source: state.rows
      operations:
        - {operation: join, right_source: state.more, join_key: k}
)"));
  EXPECT_TRUE(said.empty()) << testing::PrintToString(said);
}

TEST(DataStepChecks, AFileOpsKeyTheOperationDoesNotTakeIsRefusedNamingTheStep) {
  auto said = validate_with_checks(with_steps(R"(    - {name: f, type: file_ops, operation: list, path: ".", destination: out}
)"));
  ASSERT_EQ(said.size(), 1u) << testing::PrintToString(said);
  EXPECT_EQ(said[0], "p.yaml:5:7: error: file_ops step \"f\" (list): key \"destination\" does not "
                     "apply to list");
}

TEST(DataStepChecks, FileOpsOptionsWithATemplateAreLeftToTheRunThatRendersThem) {
  // Rendered, "{{state.where}}" may be any path; unrendered it is no path at all.
  auto said = validate_with_checks(with_steps(R"(    - {name: f, type: file_ops, operation: list, path: "{{state.rows}}"}
)"));
  EXPECT_TRUE(said.empty()) << testing::PrintToString(said);
}

TEST(DataStepChecks, AStepValidateAlreadyFoundWrongIsNotReadAgain) {
  // The broken expression is validate's to report; the worker's reader would say it again.
  auto said = validate_with_checks(with_steps(R"(    - name: t
      type: data_transform
      input_source: state.rows
      operations:
        - {operation: filter, condition: "a >"}
)"));
  ASSERT_EQ(said.size(), 1u) << testing::PrintToString(said);
  EXPECT_NE(said[0].find("p.yaml:9:"), std::string::npos) << said[0];
}

TEST(DataStepChecks, StepsOfAnInlineChildPipelineAndOfALoopBodyAreReadToo) {
  auto said = validate_with_checks(with_steps(R"(    - name: each
      type: for_loop
      iterator: r
      data_source: state.rows
      steps:
        - {name: f, type: file_ops, operation: validate, files: [a.txt], recursive: true}
    - name: child
      type: pipeline
      pipeline:
        name: inner
        steps:
          - {name: g, type: file_ops, operation: list, path: ".", files: [a.txt]}
)"));
  ASSERT_EQ(said.size(), 2u) << testing::PrintToString(said);
  EXPECT_NE(said[0].find("file_ops step \"f\" (validate): key \"recursive\""), std::string::npos)
      << said[0];
  EXPECT_NE(said[1].find("file_ops step \"g\" (list): key \"files\""), std::string::npos)
      << said[1];
}

TEST(DataStepChecks, WithoutTheChecksValidateLeavesTheOptionsToTheWorker) {
  auto loaded = pipeline::load_pipeline_text(
      with_steps("    - {name: f, type: file_ops, operation: list, path: \".\", destination: out}\n"),
      "p.yaml");
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(pipeline::validate_pipeline(*loaded.pipeline, {}).empty());
}

}  // namespace
}  // namespace pl::worker::data
