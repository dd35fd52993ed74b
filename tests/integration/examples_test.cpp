// Every example pipeline in configs/pipelines runs, in mock mode, on a real tree with the example
// tools registered, and succeeds (a step may fail only where the example says on_error: continue,
// which the run's success shows was handled).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/json.h"
#include "tests/integration/tree.h"

namespace pl::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> example_files() {
  std::vector<std::string> files;
  const fs::path root = source_dir() / "configs/pipelines";
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string relative = fs::relative(entry.path(), root).string();
    if (relative.rfind("components/", 0) == 0) continue;  // run through nested_pipeline.yaml
    files.push_back(relative);
  }
  std::sort(files.begin(), files.end());
  return files;
}

class Examples : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    // PIPELINE_MOCK_PROVIDERS: the mock answers even on a machine that has API keys.
    tree_ = new Tree(tree_config(2), 2, {"PIPELINE_MOCK_PROVIDERS=1"});
    for (const auto& tool : fs::directory_iterator(source_dir() / "configs/tools")) {
      auto r = tree_->pipelinectl({"tools", "register", tool.path().string()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }
  static void TearDownTestSuite() {
    delete tree_;
    tree_ = nullptr;
  }
  static Tree* tree_;
};

Tree* Examples::tree_ = nullptr;

TEST_P(Examples, RunsInMockModeAndSucceeds) {
  ASSERT_NE(tree_, nullptr);
  TempDir out;
  const fs::path file = source_dir() / "configs/pipelines" / GetParam();
  auto r = tree_->pipelinectl({"run", file.string(), "--output-dir", (out.path() / "outputs").string()},
                              120s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto result = parse_json(r.out);
  ASSERT_TRUE(result.ok()) << r.out;
  EXPECT_TRUE(result->get_bool("success"));
  // `validate` agrees: no errors, and nothing runs.
  auto checked = tree_->pipelinectl({"validate", file.string()});
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  for (const auto& [name, step] : result->find("steps")->as_object()) {
    // An LLM step's answer says it came from the mock.
    if (step.find("provider")) {
      EXPECT_TRUE(step.get_bool("mock")) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Pipelines, Examples, ::testing::ValuesIn(example_files()),
                         [](const auto& info) {
                           std::string name = info.param.substr(0, info.param.size() - 5);
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(Examples, ValidateNamesEveryProblemOfABadFileByLineAndColumn) {
  TempDir dir;
  const fs::path bad = dir.path() / "bad.yaml";
  std::ofstream(bad) << "workflow:\n  name: bad\n  steps:\n"
                        "    - {name: a, type: echo, valeu: 1}\n"
                        "    - {name: b, type: ecko}\n";
  auto r = run_command({binary("pipelinectl"), "validate", bad.string()}, 30s);
  EXPECT_EQ(r.exit_code, 2);
  const std::string all = r.out + r.err;
  EXPECT_NE(all.find(bad.string() + ":4:29: error:"), std::string::npos) << all;
  EXPECT_NE(all.find("valeu"), std::string::npos) << all;
  EXPECT_NE(all.find(bad.string() + ":5:"), std::string::npos) << all;
  EXPECT_NE(all.find("ecko"), std::string::npos) << all;
}

TEST(Examples, ValidateChecksEveryFileItIsGivenAndFailsIfAnyHasAnError) {
  TempDir dir;
  const fs::path good = dir.path() / "good.yaml";
  const fs::path bad = dir.path() / "bad.yaml";
  std::ofstream(good) << "workflow:\n  name: good\n  steps:\n    - {name: a, type: echo}\n";
  std::ofstream(bad) << "workflow:\n  name: bad\n  steps:\n    - {name: b, type: ecko}\n";
  const fs::path missing = dir.path() / "missing.yaml";
  auto r = run_command(
      {binary("pipelinectl"), "validate", bad.string(), good.string(), missing.string()}, 30s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(bad.string() + ":4:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(good.string() + ": ok"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(missing.string() + ": error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 of 3 files have errors"), std::string::npos) << r.err;
  auto all_good =
      run_command({binary("pipelinectl"), "validate", good.string(), good.string()}, 30s);
  EXPECT_EQ(all_good.exit_code, 0) << all_good.err;
}

TEST(Examples, ThereAreAtLeastTwentyCoveringEveryStepType) {
  const auto files = example_files();
  EXPECT_GE(files.size(), 20u);
  std::string all;
  for (const auto& f : files) all += read_text(source_dir() / "configs/pipelines" / f);
  for (const char* type : {"claude", "gemini", "llm", "parallel_claude", "claude_batch",
                           "claude_session", "claude_extract", "claude_robust", "claude_smart",
                           "gemini_instructor", "tool", "set_variable", "for_loop", "while_loop",
                           "data_transform", "file_ops", "pipeline", "echo"}) {
    const bool found = all.find(std::string("type: ") + type + "\n") != std::string::npos ||
                       all.find(std::string("type: \"") + type + "\"") != std::string::npos ||
                       all.find(std::string("type: ") + type + ",") != std::string::npos;
    EXPECT_TRUE(found) << "no example uses " << type;
  }
}

}  // namespace
}  // namespace pl::test
