// The shipped configs load: the default tree and every supervisor example.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/integration/supervisor/tree_fixture.h"

namespace pl::test {
namespace {

// `pipeline-supervisor --check` of a config holding `text`, written to DIR/tree.yaml.
CommandResult check_config(const TempDir& dir, const std::string& text) {
  const auto config = dir.path() / "tree.yaml";
  std::ofstream(config) << text;
  return run_command({binary("pipeline-supervisor"), "--check", "--config", config.string()});
}

size_t occurrences(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(SupervisorConfigs, ExamplesPassTheCheck) {
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(source_dir() / "configs" / "supervisor-examples")) {
    if (entry.path().extension() != ".yaml") continue;
    ++seen;
    auto r = run_command({binary("pipeline-supervisor"), "--check", "--config", entry.path().string()});
    EXPECT_EQ(r.exit_code, 0) << entry.path() << "\n" << r.err;
  }
  EXPECT_GE(seen, 4);
}

TEST(SupervisorConfigs, TheDefaultTreePassesTheCheck) {
  // The real programs may not be built here: stand-ins on PATH will do for a check.
  TempDir fake;
  for (const char* name : {"pipeline-registry", "pipeline-broker", "pipeline-worker"}) {
    const auto path = fake.path() / name;
    std::ofstream(path) << "#!/bin/sh\nexit 0\n";
    ::chmod(path.c_str(), 0755);
  }
  SpawnOptions options;
  options.env = {"PATH=" + fake.path().string() + ":/usr/bin:/bin"};
  auto r = run_command({binary("pipeline-supervisor"), "--check", "--config",
                        (source_dir() / "configs" / "local.yaml").string()},
                       std::chrono::seconds(30), options);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("workers (pool of 2"), std::string::npos) << r.out;
}

TEST(SupervisorConfigs, TheCheckReadsEveryProgramsSectionAndNamesEachMistake) {
  TempDir dir;
  const auto config = dir.path() / "tree.yaml";
  std::ofstream(config) << "children:\n  - {name: a, command: [sh, -c, 'sleep 1']}\n"
                           "broker: {heartbeat_ms: 0}\n"
                           "worker: {slotz: 4}\n"
                           "registry: {synchronous: sometimes}\n"
                           "providers: {anthropic: {api_key: sk-in-the-file}}\n";
  auto r = run_command({binary("pipeline-supervisor"), "--check", "--config", config.string()});
  EXPECT_EQ(r.exit_code, 2);
  for (const char* expected :
       {"tree.yaml:3:24: broker.heartbeat_ms: 0 is out of range",
        "tree.yaml:4:10: unknown key \"worker.slotz\" (did you mean \"slots\"?)",
        "tree.yaml:5:25: registry.synchronous", "tree.yaml:6:25: unknown key \"providers.anthropic.api_key\""}) {
    EXPECT_NE(r.err.find(expected), std::string::npos) << expected << "\n" << r.err;
  }
}

TEST(SupervisorConfigs, TheCheckNamesTheTreesMistakesAndTheProgramsSectionsAtOnce) {
  TempDir dir;
  auto r = check_config(dir,
                        "children:\n  - {name: a, command: [sh, -c, 'sleep 1'], restrat: always}\n"
                        "worker: {slotz: 4}\n");
  EXPECT_EQ(r.exit_code, 2);
  for (const char* expected : {"restrat", "tree.yaml:3:10: unknown key \"worker.slotz\""}) {
    EXPECT_NE(r.err.find(expected), std::string::npos) << expected << "\n" << r.err;
  }
  // A file that is not YAML is said once, not once per section.
  r = check_config(dir, "children: [\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(occurrences(r.err, "tree.yaml:2:1"), 1u) << r.err;
}

// Several programs read providers.default_provider: its mistake is said once.
TEST(SupervisorConfigs, AMistakeInAKeySeveralProgramsReadIsSaidOnce) {
  TempDir dir;
  auto r = check_config(dir, "children: []\nproviders: {default_provider: nobody}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(
      occurrences(r.err, "tree.yaml:2:31: providers.default_provider: \"nobody\" is not one of"),
      1u)
      << r.err;
}

TEST(SupervisorConfigs, AnEmptyConfigIsAnErrorNotATreeOfNothing) {
  TempDir dir;
  auto r = check_config(dir, "# only a comment\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find((dir.path() / "tree.yaml").string() + ": the config is empty"),
            std::string::npos)
      << r.err;
}

TEST(SupervisorConfigs, AStateDirectoryTooLongForItsSocketsIsRefusedBeforeItIsMade) {
  TempDir dir;
  const auto state = dir.path() / std::string(100, 'x') / "var";
  auto r = run_command({binary("pipeline-supervisor"), "--config",
                        (source_dir() / "configs" / "local.yaml").string(), "--state-dir",
                        state.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("broker-workers.sock is"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("use a shorter state directory"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(state.parent_path())) << "left behind";
}

TEST(SupervisorConfigs, TheExampleNestedTreeRuns) {
  Tree tree(read_text(source_dir() / "configs" / "supervisor-examples" / "nested.yaml"));
  tree.start_and_wait();
  EXPECT_TRUE(tree.wait_child_state("core.workers.4", "running")) << tree.log();
  const int64_t registry = tree.pid_of("registry");
  const int64_t broker = tree.pid_of("core.broker");
  const int64_t w1 = tree.pid_of("core.workers.1");
  ::kill(static_cast<pid_t>(broker), SIGKILL);  // rest_for_one: the pool restarts too
  EXPECT_GT(tree.wait_new_pid("core.workers.1", w1), 0) << tree.log();
  EXPECT_EQ(tree.pid_of("registry"), registry);
}

}  // namespace
}  // namespace pl::test
