// OTP's rules with real processes: strategies, restart types, escalation, watchdog, backoff.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "tests/integration/supervisor/tree_fixture.h"

namespace pl::test {
namespace {

std::string abc(const std::string& strategy, int intensity = 10) {
  return "supervisor: {strategy: " + strategy + ", intensity: " + std::to_string(intensity) +
         ", period: 30}\n"
         "children:\n"
         "  - {name: a, command: " + child_command("--ready") + ", ready: notify}\n"
         "  - {name: b, command: " + child_command("--ready") + ", ready: notify}\n"
         "  - {name: c, command: " + child_command("--ready") + ", ready: notify}\n";
}

TEST(SupervisorStrategies, OneForAllRestartsEveryChild) {
  Tree tree(abc("one_for_all"));
  tree.start_and_wait();
  const int64_t a = tree.pid_of("a"), b = tree.pid_of("b"), c = tree.pid_of("c");
  ASSERT_EQ(::kill(static_cast<pid_t>(b), SIGKILL), 0);
  EXPECT_GT(tree.wait_new_pid("a", a), 0) << tree.log();
  EXPECT_GT(tree.wait_new_pid("b", b), 0);
  EXPECT_GT(tree.wait_new_pid("c", c), 0);
  EXPECT_TRUE(tree.wait_event([&](const protocol::ChildEvent& e) {
    return e.kind == "exited" && e.pid == c && e.signal == 0;  // stopped with SIGTERM, exit 0
  }));
}

TEST(SupervisorStrategies, RestForOneRestartsTheChildAndThoseAfterIt) {
  Tree tree(abc("rest_for_one"));
  tree.start_and_wait();
  const int64_t a = tree.pid_of("a"), b = tree.pid_of("b"), c = tree.pid_of("c");
  ASSERT_EQ(::kill(static_cast<pid_t>(b), SIGKILL), 0);
  EXPECT_GT(tree.wait_new_pid("b", b), 0) << tree.log();
  EXPECT_GT(tree.wait_new_pid("c", c), 0);
  EXPECT_EQ(tree.pid_of("a"), a);
}

TEST(SupervisorStrategies, TransientIsRestartedOnlyAfterAnAbnormalExit) {
  Tree tree(
      "supervisor: {intensity: 10}\n"
      "children:\n"
      "  - {name: t, restart: transient, command: " + child_command("--ready") + ", ready: notify}\n"
      "  - {name: tmp, restart: temporary, command: " + child_command() + "}\n");
  tree.start_and_wait();
  const int64_t t = tree.pid_of("t");
  ::kill(static_cast<pid_t>(t), SIGUSR2);  // exit 1: abnormal
  const int64_t t2 = tree.wait_new_pid("t", t);
  ASSERT_GT(t2, 0) << tree.log();
  ::kill(static_cast<pid_t>(t2), SIGUSR1);  // exit 0: normal
  EXPECT_TRUE(tree.wait_child_state("t", "stopped")) << tree.log();
  const int64_t tmp = tree.pid_of("tmp");
  ::kill(static_cast<pid_t>(tmp), SIGKILL);
  EXPECT_TRUE(tree.wait_child_state("tmp", "stopped"));
  auto s = tree.child("t");
  EXPECT_EQ(s->find("last_exit")->get_int("status"), 0);
}

TEST(SupervisorStrategies, EscalationAtTheRootExits1AndLeavesNothing) {
  Tree tree(
      "supervisor: {intensity: 2, period: 60}\n"
      "children:\n"
      "  - {name: steady, command: " + child_command() + "}\n"
      "  - {name: crasher, command: " + child_command("--exit-after-ms, 20, --exit-code, 4") + "}\n");
  tree.start();
  EXPECT_EQ(tree.wait_exit(), 1) << tree.log();
  EXPECT_TRUE(tree.wait_no_survivors());
  EXPECT_NE(tree.log().find("gave_up root"), std::string::npos) << tree.log();
}

TEST(SupervisorStrategies, NestedSupervisorEscalatesToItsParent) {
  Tree tree(
      "supervisor: {intensity: 5, period: 60}\n"
      "children:\n"
      "  - {name: steady, command: " + child_command() + "}\n"
      "  - name: sub\n"
      "    type: supervisor\n"
      "    intensity: 0\n"
      "    children:\n"
      "      - {name: x, command: " + child_command("--ready") + ", ready: notify}\n"
      "      - {name: y, command: " + child_command() + "}\n");
  tree.start_and_wait();
  const int64_t steady = tree.pid_of("steady");
  const int64_t x = tree.pid_of("sub.x"), y = tree.pid_of("sub.y");
  ::kill(static_cast<pid_t>(x), SIGKILL);
  EXPECT_TRUE(tree.wait_event("escalated", "sub")) << tree.log();
  EXPECT_GT(tree.wait_new_pid("sub.x", x), 0);
  EXPECT_GT(tree.wait_new_pid("sub.y", y), 0);
  EXPECT_EQ(tree.pid_of("steady"), steady);
  EXPECT_EQ(tree.child("sub")->get_int("restarts"), 1);
}

TEST(SupervisorStrategies, MissedWatchdogKillsAndRestarts) {
  Tree tree(
      "supervisor: {intensity: 10}\n"
      "children:\n"
      "  - {name: w, watchdog: 300, ready: notify, command: " +
      child_command("--ready, --watchdog, --watchdog-stop-after-ms, 400") + "}\n");
  tree.start_and_wait();
  const int64_t w = tree.pid_of("w");
  EXPECT_TRUE(tree.wait_event("watchdog_timeout", "w")) << tree.log();
  auto exited = tree.wait_event([&](const protocol::ChildEvent& e) {
    return e.kind == "exited" && e.pid == w;
  });
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->signal, SIGKILL);
  EXPECT_GT(tree.wait_new_pid("w", w), 0);
}

TEST(SupervisorStrategies, ReadyTimeoutOnRestartIsRetriedUntilEscalation) {
  TempDir scratch;
  const std::string mute = (scratch.path() / "mute").string();
  // Sends READY=1 until the file `mute` exists; then never again.
  Tree tree(
      "supervisor: {intensity: 2, period: 60}\n"
      "children:\n"
      "  - {name: r, ready: notify, ready_timeout: 200, command: [sh, -c, 'if [ -e " + mute +
      " ]; then exec sleep 100; else exec " + binary("pipeline-test-child") + " --ready; fi']}\n");
  tree.start_and_wait();
  { std::ofstream(mute) << "x"; }
  ::kill(static_cast<pid_t>(tree.pid_of("r")), SIGKILL);
  EXPECT_EQ(tree.wait_exit(), 1) << tree.log();
  EXPECT_NE(tree.log().find("ready_timeout r"), std::string::npos);
  EXPECT_TRUE(tree.wait_no_survivors());
}

TEST(SupervisorStrategies, AChildThatCannotBeSpawnedAnyMoreDoesNotStopTheLoop) {
  // Its program is removed while it runs: every restart fails at exec, at once. With an
  // intensity that allows more restarts in a period than can fail in it, the retries go on,
  // but the supervisor still answers requests and stops on SIGTERM.
  Tree tree(
      "supervisor: {intensity: 1000000, period: 1}\n"
      "children:\n"
      "  - {name: gone, command: [./vanishing, --exit-after-ms, '100', --exit-code, '1']}\n");
  const auto program = tree.dir() / "vanishing";
  std::filesystem::copy_file(binary("pipeline-test-child"), program);
  tree.start_and_wait();
  std::filesystem::remove(program);
  // Not tree.log() in messages: a supervisor that spins writes it by the megabyte.
  ASSERT_TRUE(tree.wait_log("start_failed gone", std::chrono::seconds(10)));
  EXPECT_TRUE(tree.status().has_value()) << "no answer to status";
  tree.process().signal(SIGTERM);
  const auto code = tree.wait_exit(std::chrono::seconds(10));
  if (!code) tree.process().signal(SIGKILL);
  EXPECT_EQ(code, 0) << "SIGTERM did not stop the tree";
}

TEST(SupervisorStrategies, BackoffDelaysRestarts) {
  Tree tree(
      "supervisor: {intensity: 10, period: 60}\n"
      "children:\n"
      "  - {name: b, backoff: {initial_ms: 300, max_ms: 300}, command: " + child_command() + "}\n");
  tree.start_and_wait();
  const int64_t b = tree.pid_of("b");
  ::kill(static_cast<pid_t>(b), SIGKILL);
  auto restarting = tree.wait_event("restarting", "b");
  ASSERT_TRUE(restarting);
  EXPECT_NE(restarting->detail.find(" ms)"), std::string::npos) << restarting->detail;
  EXPECT_GT(tree.wait_new_pid("b", b), 0);
}

TEST(SupervisorStrategies, AutoShutdownWhenASignificantChildEnds) {
  Tree tree(
      "supervisor: {auto_shutdown: any_significant}\n"
      "children:\n"
      "  - {name: server, command: " + child_command() + "}\n"
      "  - {name: job, restart: transient, significant: true, command: " +
      child_command("--exit-after-ms, 100") + "}\n");
  tree.start();
  EXPECT_EQ(tree.wait_exit(), 0) << tree.log();
  EXPECT_TRUE(tree.wait_no_survivors());
}

}  // namespace
}  // namespace pl::test
