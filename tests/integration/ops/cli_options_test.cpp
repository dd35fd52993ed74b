// pipelinectl's global options: which tree a command talks to.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/integration/tree.h"

namespace pl::test {
namespace {

CommandResult status_with_config(const TempDir& cwd, const std::string& config) {
  SpawnOptions options;
  options.cwd = cwd.path();  // where ./var, the fall-back, would be
  options.unset_env = {"PIPELINE_STATE_DIR"};
  return run_command({binary("pipelinectl"), "--config", config, "status"}, 60s, options);
}

TEST(CliOptions, AConfigThatDoesNotLoadIsAUsageErrorNotAFallBackToAnotherTree) {
  TempDir dir;
  const std::string missing = (dir.path() / "missing.yaml").string();
  auto r = status_with_config(dir, missing);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--config: " + missing + ": no such file"), std::string::npos) << r.err;

  const std::string broken = (dir.path() / "broken.yaml").string();
  std::ofstream(broken) << "supervisor: [\n";
  r = status_with_config(dir, broken);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--config: " + broken + ":2:1: "), std::string::npos) << r.err;

  const std::string wrong_type = (dir.path() / "wrong.yaml").string();
  std::ofstream(wrong_type) << "supervisor:\n  state_dir: [a]\n";
  r = status_with_config(dir, wrong_type);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(wrong_type + ":2:14: error: state_dir is not a string"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("/var"), std::string::npos) << "fell back to ./var: " << r.err;
}

TEST(CliOptions, AConfigsStateDirChoosesTheTree) {
  TempDir dir;
  const std::string config = (dir.path() / "tree.yaml").string();
  const std::string state_dir = (dir.path() / "elsewhere").string();
  std::ofstream(config) << "supervisor:\n  state_dir: " << state_dir << "\n";
  auto r = status_with_config(dir, config);
  EXPECT_EQ(r.exit_code, 69) << r.out << r.err;
  EXPECT_NE(r.err.find("no supervisor answers on " + state_dir), std::string::npos) << r.err;
}

TEST(CliOptions, APipelineFileThatIsNotThereIsNamedOnce) {
  TempDir dir;
  const std::string missing = (dir.path() / "nope.yaml").string();
  auto r = run_command({binary("pipelinectl"), "validate", missing});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, missing + ": error: no such file\n");
}

TEST(CliOptions, TheGlobalOptionsMayComeAfterTheCommand) {
  TempDir empty;
  auto r =
      run_command({binary("pipelinectl"), "runs", "list", "--state-dir", empty.path().string()});
  EXPECT_EQ(r.exit_code, 69) << r.out << r.err;
  EXPECT_NE(r.err.find("no broker runs on " + empty.path().string()), std::string::npos) << r.err;
}

TEST(CliOptions, AnEmptyStateDirIsAUsageErrorNotTheDefaultTree) {
  auto r = run_command({binary("pipelinectl"), "--state-dir", "", "status"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--state-dir: must not be empty"), std::string::npos) << r.err;
}

TEST(CliOptions, AnUnknownCommandIsNamedWithTheCommandsThereAre) {
  auto top = run_command({binary("pipelinectl"), "bogus"});
  EXPECT_EQ(top.exit_code, 2);
  EXPECT_NE(top.err.find("unknown command \"bogus\"; the commands are: run, validate, runs,"),
            std::string::npos)
      << top.err;
  auto nested = run_command({binary("pipelinectl"), "tools", "lst"});
  EXPECT_EQ(nested.exit_code, 2);
  EXPECT_NE(nested.err.find("unknown command \"lst\" of tools; the commands are: register, list, "
                            "show, remove"),
            std::string::npos)
      << nested.err;
}

}  // namespace
}  // namespace pl::test
