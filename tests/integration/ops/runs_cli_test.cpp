// pipelinectl's commands when the process they ask cannot answer: the exit codes of docs/cli.md.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "tests/integration/tree.h"

namespace pl::test {
namespace {

TEST(RunsCommands, WithNoTreeOnTheStateDirectoryExitSixtyNineNamingTheMissingSocket) {
  TempDir empty;
  auto r = run_command({binary("pipelinectl"), "--state-dir", empty.path().string(), "runs",
                        "list"});
  EXPECT_EQ(r.exit_code, 69) << r.out << r.err;
  EXPECT_NE(r.err.find("no broker runs on " + empty.path().string() + " (no broker-clients.sock)"),
            std::string::npos)
      << r.err;
}

TEST(RunsCommands, ABrokerThatDoesNotAnswerInTimeIsATemporaryFailure) {
  Tree tree(tree_config(1), 1);
  const int64_t broker = tree.pid_of("pipeline-broker");
  ASSERT_GT(broker, 0) << tree.log();
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGSTOP), 0);
  auto r = tree.pipelinectl({"runs", "list"});
  ::kill(static_cast<pid_t>(broker), SIGCONT);
  EXPECT_EQ(r.exit_code, 75) << r.out << r.err;
  EXPECT_NE(r.err.find("did not answer within 10000 ms (busy, or replaying"), std::string::npos)
      << r.err;
}

TEST(RunsCommands, AProcessThatHasStoppedIsReportedAtOnceThoughItsSocketFileIsLeft) {
  Tree tree(tree_config(1), 1);
  for (const char* child : {"broker", "registry"}) {
    auto stopped = tree.pipelinectl({"stop", child});
    ASSERT_EQ(stopped.exit_code, 0) << stopped.out << stopped.err;
  }
  // ZeroMQ leaves an ipc socket's file behind when its process stops.
  ASSERT_TRUE(std::filesystem::exists(tree.state_dir() / "broker-clients.sock"));
  ASSERT_TRUE(std::filesystem::exists(tree.state_dir() / "registry.sock"));

  // Stopped on purpose: nothing runs there (69), said at once.
  auto runs = tree.pipelinectl({"runs", "list"});
  EXPECT_EQ(runs.exit_code, 69) << runs.out << runs.err;
  EXPECT_NE(runs.err.find("no broker runs on " + tree.state_dir().string() +
                          " (nothing listens on broker-clients.sock"),
            std::string::npos)
      << runs.err;
  auto tools = tree.pipelinectl({"tools", "list"});
  EXPECT_EQ(tools.exit_code, 69) << tools.out << tools.err;
  EXPECT_NE(tools.err.find("(nothing listens on registry.sock"), std::string::npos) << tools.err;
}

}  // namespace
}  // namespace pl::test
