// `cmake --install` into a temporary prefix: the files land where docs/operations.md says, the
// unit names the paths of that prefix, and the installed programs run from there.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/fs.h"
#include "tests/support/harness.h"

namespace pl::test {
namespace {

namespace fs = std::filesystem;

CommandResult install_into(const fs::path& prefix) {
  return run_command(
      {PIPELINE_CMAKE_COMMAND, "--install", PIPELINE_BUILD_DIR, "--prefix", prefix.string()}, 120s);
}

TEST(Install, PlacesProgramsConfigsExamplesDocsAndTheUnit) {
  TempDir dir;
  const fs::path prefix = dir.path() / "usr-local";
  auto r = install_into(prefix);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* program : {"pipeline-supervisor", "pipeline-broker", "pipeline-worker",
                              "pipeline-registry", "pipelinectl"}) {
    const fs::path p = prefix / "bin" / program;
    EXPECT_TRUE(fs::exists(p)) << p;
    EXPECT_EQ(::access(p.c_str(), X_OK), 0) << p;
  }
  EXPECT_FALSE(fs::exists(prefix / "bin" / "pipeline-test-child"));  // tests are not installed
  EXPECT_TRUE(fs::exists(prefix / "etc/pipeline/local.yaml"));
  EXPECT_TRUE(fs::exists(prefix / "share/pipeline/local.yaml"));
  EXPECT_TRUE(fs::exists(prefix / "share/pipeline/node.yaml"));
  EXPECT_TRUE(fs::exists(prefix / "share/pipeline/pipelines/hello.yaml"));
  EXPECT_TRUE(fs::exists(prefix / "share/pipeline/supervisor-examples/nested.yaml"));
  EXPECT_TRUE(fs::exists(prefix / "share/doc/pipeline/operations.md"));
  EXPECT_TRUE(fs::exists(prefix / "share/doc/pipeline/metrics.md"));

  const std::string unit = read_text(prefix / "lib/systemd/system/pipeline.service");
  ASSERT_FALSE(unit.empty());
  EXPECT_NE(unit.find("ExecStart=" + (prefix / "bin/pipeline-supervisor").string() + " --config " +
                      (prefix / "etc/pipeline/local.yaml").string()),
            std::string::npos)
      << unit;
  EXPECT_EQ(unit.find('@'), std::string::npos) << "every placeholder is filled:\n" << unit;
  EXPECT_NE(unit.find("Type=notify"), std::string::npos);

  const std::string backup = read_text(prefix / "lib/systemd/system/pipeline-backup.service");
  EXPECT_NE(backup.find("ExecStart=" + (prefix / "bin/pipelinectl").string() + " backup --keep 7"),
            std::string::npos)
      << backup;
  EXPECT_EQ(backup.find('@'), std::string::npos) << "every placeholder is filled:\n" << backup;
  EXPECT_NE(read_text(prefix / "lib/systemd/system/pipeline-backup.timer").find("OnCalendar="),
            std::string::npos);
}

// A package is staged with DESTDIR: every file under it once, the unit naming the final paths.
TEST(Install, DestdirStagesEveryFileOnceUnderIt) {
  TempDir dir;
  const fs::path stage = dir.path() / "stage";
  const fs::path prefix = dir.path() / "opt";  // the final prefix, inside the stage
  SpawnOptions options;
  options.env = {"DESTDIR=" + stage.string()};
  auto r = run_command(
      {PIPELINE_CMAKE_COMMAND, "--install", PIPELINE_BUILD_DIR, "--prefix", prefix.string()}, 120s,
      options);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const fs::path staged = stage / prefix.relative_path();
  EXPECT_TRUE(fs::exists(staged / "etc/pipeline/local.yaml")) << r.out;
  EXPECT_FALSE(fs::exists(stage / stage.relative_path())) << "DESTDIR twice:\n" << r.out;
  EXPECT_FALSE(fs::exists(prefix)) << "written outside the stage";
  const std::string unit = read_text(staged / "lib/systemd/system/pipeline.service");
  EXPECT_NE(unit.find("--config " + (prefix / "etc/pipeline/local.yaml").string()),
            std::string::npos)
      << unit;
}

TEST(Install, TheInstalledProgramsRunAndFindEachOther) {
  TempDir dir;
  const fs::path prefix = dir.path() / "p";
  ASSERT_EQ(install_into(prefix).exit_code, 0);
  auto help = run_command({(prefix / "bin/pipelinectl").string(), "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("top"), std::string::npos) << help.out;
  // The default tree's commands are bare names, found beside the installed supervisor.
  auto check = run_command({(prefix / "bin/pipeline-supervisor").string(), "--check", "--config",
                            (prefix / "etc/pipeline/local.yaml").string()});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find((prefix / "bin/pipeline-broker").string()), std::string::npos)
      << check.out;
  // So are a worker host's (docs/operations.md, "Add a host"), once its keys are in place:
  // before, the check names each missing one, as the worker would at its start.
  const fs::path node_yaml = prefix / "share/pipeline/node.yaml";
  auto keyless = run_command({(prefix / "bin/pipeline-supervisor").string(), "--check", "--config",
                              node_yaml.string()});
  EXPECT_EQ(keyless.exit_code, 2);
  EXPECT_NE(keyless.err.find("node.yaml:36:17: worker.curve.secret_key:"), std::string::npos)
      << keyless.err;
  for (const char* name : {"node", "broker", "registry"}) {
    auto made = run_command({(prefix / "bin/pipelinectl").string(), "keys", "generate", "--out",
                             (prefix / "share/pipeline/keys").string(), "--name", name});
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  auto node = run_command({(prefix / "bin/pipeline-supervisor").string(), "--check", "--config",
                           node_yaml.string()});
  EXPECT_EQ(node.exit_code, 0) << node.err;
  EXPECT_NE(node.out.find((prefix / "bin/pipeline-worker").string()), std::string::npos)
      << node.out;
}

TEST(Install, AnUpgradeKeepsTheOperatorsConfig) {
  TempDir dir;
  const fs::path prefix = dir.path() / "p";
  ASSERT_EQ(install_into(prefix).exit_code, 0);
  const fs::path config = prefix / "etc/pipeline/local.yaml";
  ASSERT_TRUE(write_file_atomic(config, "# mine\n").ok());
  auto again = install_into(prefix);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_text(config), "# mine\n");
  EXPECT_NE(again.out.find("Keeping: " + config.string()), std::string::npos) << again.out;
}

}  // namespace
}  // namespace pl::test
