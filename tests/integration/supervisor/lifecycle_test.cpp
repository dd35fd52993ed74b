// A real supervisor with real children: start in order, stop in reverse, restart on kill,
// output capture, the lock, the environment contract.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "common/net/zmq_socket.h"
#include "common/protocol/envelope.h"
#include "common/state_paths.h"
#include "tests/integration/supervisor/tree_fixture.h"

namespace pl::test {
namespace {

std::vector<std::string> kinds_for(const std::vector<protocol::ChildEvent>& events,
                                   const std::string& kind) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e.kind == kind) out.push_back(e.child);
  }
  return out;
}

const std::string kThreeChildren =
    "supervisor: {intensity: 5, period: 10}\n"
    "children:\n"
    "  - {name: first, command: " + child_command("--ready, --ready-delay-ms, 50") + ", ready: notify}\n"
    "  - {name: second, command: " + child_command() + "}\n"
    "  - {name: workers, type: pool, count: 2, command: " + child_command("--ready") + ", ready: notify}\n"
    "broker: {heartbeat_ms: 1000}\n";

TEST(SupervisorLifecycle, StartsInOrderAndStopsInReverseOnSigterm) {
  Tree tree(kThreeChildren);
  tree.start_and_wait();
  for (const char* name : {"first", "second", "workers.1", "workers.2"}) {
    EXPECT_TRUE(tree.wait_child_state(name, "running")) << name;
    EXPECT_GT(tree.pid_of(name), 0) << name;
  }
  const auto started = kinds_for(tree.events(), "started");
  ASSERT_GE(started.size(), 4u);
  EXPECT_EQ(started[0], "first");
  EXPECT_EQ(started[1], "second");

  ASSERT_TRUE(tree.process().signal(SIGTERM));
  EXPECT_EQ(tree.wait_exit(), 0) << tree.log();
  EXPECT_TRUE(tree.wait_no_survivors()) << tree.log();
  // The history is gone with the process; the log has the order.
  const std::string log = tree.log();
  const size_t workers = log.find("stopped workers");
  const size_t second = log.find("stopped second pid");
  const size_t first = log.find("stopped first pid");
  ASSERT_NE(workers, std::string::npos) << log;
  ASSERT_NE(second, std::string::npos) << log;
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_LT(workers, second);
  EXPECT_LT(second, first);
}

TEST(SupervisorLifecycle, StateDirIsPrivateAndSocketsAre0600) {
  Tree tree(kThreeChildren);
  tree.start_and_wait();
  auto mode = [](const std::filesystem::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
  };
  EXPECT_EQ(mode(tree.state_dir()), 0700);
  for (const char* name : {"control.sock", "events.sock", "notify.sock"}) {
    EXPECT_EQ(mode(tree.state_dir() / name), 0600) << name;
  }
}

TEST(SupervisorLifecycle, RestartsAChildKilledWithSigkill) {
  Tree tree(kThreeChildren);
  tree.start_and_wait();
  const int64_t before = tree.pid_of("second");
  const int64_t first = tree.pid_of("first");
  ASSERT_GT(before, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(before), SIGKILL), 0);
  const int64_t after = tree.wait_new_pid("second", before);
  EXPECT_GT(after, 0) << tree.log();
  auto exited = tree.wait_event([&](const protocol::ChildEvent& e) {
    return e.kind == "exited" && e.pid == before;
  });
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->signal, SIGKILL);
  EXPECT_EQ(exited->child, "second");
  auto second = tree.child("second");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->get_int("restarts"), 1);
  EXPECT_EQ(second->find("last_exit")->get_int("signal"), SIGKILL);
  EXPECT_EQ(tree.pid_of("first"), first);  // one_for_one
}

TEST(SupervisorLifecycle, RestartsAPoolMemberAlone) {
  Tree tree(kThreeChildren);
  tree.start_and_wait();
  const int64_t w1 = tree.pid_of("workers.1");
  const int64_t w2 = tree.pid_of("workers.2");
  ASSERT_EQ(::kill(static_cast<pid_t>(w2), SIGKILL), 0);
  EXPECT_GT(tree.wait_new_pid("workers.2", w2), 0) << tree.log();
  EXPECT_EQ(tree.pid_of("workers.1"), w1);
}

TEST(SupervisorLifecycle, ShutdownCommandRepliesThenStopsTheTreeAndExits0) {
  Tree tree(kThreeChildren);
  tree.start_and_wait();
  auto reply = tree.call("shutdown");
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->ok);
  EXPECT_EQ(tree.wait_exit(), 0);
  EXPECT_TRUE(tree.wait_no_survivors());
  EXPECT_FALSE(std::filesystem::exists(tree.state_dir() / "control.sock"));
}

TEST(SupervisorLifecycle, ChildOutputIsLoggedLineByLineWithItsNameEvenWhenItCrashes) {
  Tree tree(
      "supervisor: {intensity: 100}\n"
      "children:\n"
      "  - {name: talker, command: " +
      child_command("--print, hello world, --print-stderr, on stderr, --crash-after-print") +
      "}\n");
  tree.start();
  EXPECT_TRUE(tree.wait_log("[talker] hello world")) << tree.log();
  EXPECT_TRUE(tree.wait_log("[talker] on stderr")) << tree.log();
  EXPECT_TRUE(tree.wait_log("[talker] unterminated")) << tree.log();
}

TEST(SupervisorLifecycle, ChildrenGetTheEnvironmentContract) {
  Tree tree(
      "children:\n"
      "  - name: sub\n"
      "    type: supervisor\n"
      "    children:\n"
      "      - {name: env, command: " + child_command("--print-env, PIPELINE_CHILD_NAME") + "}\n"
      "      - {name: dir, command: " + child_command("--print-env, PIPELINE_STATE_DIR") + "}\n"
      "      - {name: cfg, command: " + child_command("--print-env, PIPELINE_CONFIG") + "}\n"
      "      - {name: ns, command: " + child_command("--print-env, NOTIFY_SOCKET") + "}\n"
      "      - {name: wd, command: " + child_command("--print-env, WATCHDOG_USEC, --watchdog") +
      ", watchdog: 5000}\n"
      "      - {name: extra, command: " + child_command("--print-env, EXTRA") + ", env: {EXTRA: 42}}\n");
  tree.start_and_wait();
  EXPECT_TRUE(tree.wait_log("[sub.env] PIPELINE_CHILD_NAME=sub.env")) << tree.log();
  EXPECT_TRUE(tree.wait_log("[sub.dir] PIPELINE_STATE_DIR=" + tree.state_dir().string())) << tree.log();
  EXPECT_TRUE(tree.wait_log("[sub.cfg] PIPELINE_CONFIG=" + tree.config().string())) << tree.log();
  EXPECT_TRUE(tree.wait_log("[sub.ns] NOTIFY_SOCKET=" + (tree.state_dir() / "notify.sock").string()))
      << tree.log();
  EXPECT_TRUE(tree.wait_log("[sub.wd] WATCHDOG_USEC=5000000")) << tree.log();
  EXPECT_TRUE(tree.wait_log("[sub.extra] EXTRA=42")) << tree.log();
}

TEST(SupervisorLifecycle, SecondSupervisorOnTheSameStateDirExits2) {
  Tree tree(kThreeChildren);
  tree.start_and_wait();
  auto second = run_command({binary("pipeline-supervisor"), "--config", tree.config().string(),
                             "--state-dir", tree.state_dir().string()},
                            std::chrono::seconds(30));
  EXPECT_EQ(second.exit_code, 2);
  EXPECT_NE(second.err.find("another supervisor runs on " + tree.state_dir().string()),
            std::string::npos)
      << second.err;
  EXPECT_TRUE(tree.status());
}

// A state directory that cannot take the lock (read-only, say; here its lock is a directory)
// is unusable, which a restart will not fix: exit 2, which the unit does not restart.
TEST(SupervisorLifecycle, AStateDirectoryThatCannotTakeTheLockExits2) {
  TempDir dir;
  const auto state = dir.path() / "state";
  std::filesystem::create_directories(state / "supervisor.lock");
  ::chmod(state.c_str(), 0700);
  auto r = run_command(
      {binary("pipeline-supervisor"), "--config",
       (source_dir() / "configs" / "local.yaml").string(), "--state-dir", state.string()},
      std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("state directory: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("supervisor.lock"), std::string::npos) << r.err;
}

TEST(SupervisorLifecycle, BadConfigExits2WithFileLineAndColumn) {
  Tree tree("supervisor:\n  intensity: -3\nchildren:\n  - {name: a, command: [no-such-cmd-q]}\n");
  auto result = run_command({binary("pipeline-supervisor"), "--config", tree.config().string(),
                             "--state-dir", tree.state_dir().string()},
                            std::chrono::seconds(30));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find(tree.config().string() + ":2:14: supervisor.intensity"),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find(tree.config().string() + ":4:24: children.0.command"),
            std::string::npos)
      << result.err;
}

TEST(SupervisorLifecycle, ReadyTimeoutAtStartExits1AndLeavesNothing) {
  Tree tree(
      "children:\n"
      "  - {name: ok, command: " + child_command() + "}\n"
      "  - {name: mute, command: " + child_command("--grandchild") + ", ready: notify, ready_timeout: 300}\n");
  tree.start();
  EXPECT_EQ(tree.wait_exit(), 1) << tree.log();
  EXPECT_TRUE(tree.wait_no_survivors()) << tree.log();
  EXPECT_NE(tree.log().find("ready_timeout mute"), std::string::npos) << tree.log();
}

// Whether `pid` has exited and waits, a zombie, to be reaped.
bool is_zombie(int64_t pid) {
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

TEST(SupervisorLifecycle, ReadyJustBeforeExitingIsAStartThenAnExitNotAFailedStart) {
  // READY=1 is in the notify socket before the exit: the child started, then ended normally,
  // and a transient child that ends normally is neither restarted nor a failed start. The
  // supervisor is held (SIGSTOP) while the child says READY=1 and exits, so that it finds both
  // at once, whatever the scheduler does.
  Tree tree(
      "children:\n"
      "  - {name: once, restart: transient, command: " + child_command("--ready, --ready-delay-ms, 1000, --exit-after-ms, 1000") + ", ready: notify}\n"
      "  - {name: steady, command: " + child_command() + "}\n");
  tree.start();
  auto started = tree.wait_event("started", "once");
  ASSERT_TRUE(started) << tree.log();
  const pid_t supervisor = tree.process().pid();
  ASSERT_EQ(::kill(supervisor, SIGSTOP), 0);
  const bool exited = wait_until([&] { return is_zombie(started->pid); }, std::chrono::seconds(10));
  ASSERT_EQ(::kill(supervisor, SIGCONT), 0);
  ASSERT_TRUE(exited) << tree.log();
  const auto soon = std::chrono::seconds(10);
  EXPECT_TRUE(tree.wait_event("ready", "once", soon)) << tree.log();
  EXPECT_TRUE(tree.wait_child_state("steady", "running", soon)) << tree.log();
  EXPECT_TRUE(tree.wait_child_state("once", "stopped", soon)) << tree.log();
  EXPECT_EQ(tree.log().find("failed to start"), std::string::npos) << tree.log();
}

TEST(SupervisorLifecycle, GarbageOnTheControlSocketIsIgnored) {
  Tree tree(kThreeChildren);
  tree.start_and_wait();
  {
    net::Context context;
    net::Socket dealer(context, net::SocketKind::kDealer);
    auto endpoint = StatePaths(tree.state_dir()).control_endpoint();
    ASSERT_TRUE(endpoint.ok());
    ASSERT_TRUE(dealer.connect(*endpoint).ok());
    ASSERT_TRUE(dealer.send({"not msgpack at all"}).ok());
    ASSERT_TRUE(dealer.send({"two", "frames"}).ok());
    ASSERT_TRUE(dealer.send({std::string("\x93\x01\xcd\x01\x2c\x80", 6)}).ok());  // no request id
    // A good request after the bad ones: its answer proves they were read (and survived).
    protocol::ControlRequest ping;
    ping.request = "ping";
    ping.command = "status";
    ASSERT_TRUE(dealer.send({protocol::encode(protocol::MessageType::kControlRequest,
                                              protocol::to_body(ping))})
                    .ok());
    std::vector<net::PollEntry> entries{{dealer.raw(), -1, false}};
    bool answered = wait_until(
        [&] {
          auto polled = net::poll(entries, 100);
          if (!polled.ok() || *polled == 0) return false;
          auto frames = dealer.receive();
          return frames.ok() && frames->has_value();
        },
        std::chrono::seconds(30));
    EXPECT_TRUE(answered);
  }
  auto bad = tree.call("no_such_command");
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->ok);
  EXPECT_EQ(bad->code, ErrorCode::kInvalidInput);
  EXPECT_TRUE(tree.status());
  EXPECT_TRUE(tree.wait_log("dropped a bad frame"));
}

}  // namespace
}  // namespace pl::test
