// pipelinectl's runs commands when the broker cannot answer: the exit codes of docs/cli.md.
#include <gtest/gtest.h>
#include <signal.h>

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

}  // namespace
}  // namespace pl::test
