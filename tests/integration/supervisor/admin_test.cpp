// Operating a running tree: pipelinectl, reload, scale, the event stream, systemd's notify
// protocol, and no orphans after kill -9 of the supervisor.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/json.h"
#include "common/net/zmq_socket.h"
#include "common/protocol/envelope.h"
#include "common/state_paths.h"
#include "tests/integration/supervisor/tree_fixture.h"

namespace pl::test {
namespace {

std::string base_tree(const std::string& b_args = "--ready", int pool_count = 2,
                      const std::string& extra = "") {
  return "supervisor: {intensity: 10, period: 30}\n"
         "children:\n"
         "  - {name: a, command: " + child_command("--ready") + ", ready: notify}\n"
         "  - {name: b, command: " + child_command(b_args) + ", ready: notify}\n"
         "  - {name: w, type: pool, count: " + std::to_string(pool_count) + ", max_children: 4, command: " +
         child_command("--ready") + ", ready: notify}\n" + extra +
         "worker: {slots: 1}\n";
}

CommandResult ctl(const Tree& tree, std::vector<std::string> args) {
  std::vector<std::string> argv{binary("pipelinectl"), "--state-dir", tree.state_dir().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions options;
  options.unset_env = {"PIPELINE_STATE_DIR"};
  return run_command(argv, std::chrono::seconds(60), options);
}

// ---- Reload and scale -----------------------------------------------------------------------

TEST(SupervisorReload, AppliesOnlyTheDifference) {
  Tree tree(base_tree());
  tree.start_and_wait();
  const int64_t a = tree.pid_of("a"), b = tree.pid_of("b"), w1 = tree.pid_of("w.1");
  tree.write_config(base_tree("--ready, --status, v2", 3,
                              "  - {name: c, command: " + child_command() + "}\n"));
  auto reply = tree.call("reload", Value::object(), std::chrono::seconds(60));
  ASSERT_TRUE(reply);
  ASSERT_TRUE(reply->ok) << reply->message;
  EXPECT_EQ(to_json(*reply->result.find("replaced")), "[\"b\"]");
  EXPECT_EQ(to_json(*reply->result.find("added")), "[\"c\"]");
  EXPECT_EQ(tree.pid_of("a"), a);
  EXPECT_EQ(tree.pid_of("w.1"), w1);
  EXPECT_NE(tree.pid_of("b"), b);
  EXPECT_TRUE(tree.wait_child_state("c", "running"));
  EXPECT_TRUE(tree.wait_child_state("w.3", "running"));
  EXPECT_EQ(tree.child("b")->get_string("status_text"), "v2");
}

TEST(SupervisorReload, ABadFileChangesNothingAndSaysWhy) {
  Tree tree(base_tree());
  tree.start_and_wait();
  const std::string before = to_json(*tree.status()->find("children"));
  tree.write_config(base_tree() + "childern: []\n");
  auto reply = tree.call("reload", Value::object(), std::chrono::seconds(60));
  ASSERT_TRUE(reply);
  EXPECT_FALSE(reply->ok);
  EXPECT_NE(reply->message.find(tree.config().string() + ":"), std::string::npos) << reply->message;
  EXPECT_NE(reply->message.find("unknown key \"childern\""), std::string::npos) << reply->message;
  auto after = tree.status();
  ASSERT_TRUE(after);
  // Same children, same pids (uptimes differ).
  for (const char* name : {"a", "b", "w.1", "w.2"}) EXPECT_GT(tree.pid_of(name), 0);
  EXPECT_EQ(after->find("children")->size(), 3u);
  (void)before;
}

TEST(SupervisorReload, AMistakeInAProgramsSectionIsRefusedAndAChangeThereIsNamed) {
  Tree tree(base_tree());
  tree.start_and_wait();
  const int64_t a = tree.pid_of("a");
  // A typo the broker would meet only at its next start: refused now, nothing changed.
  tree.write_config(base_tree() + "broker: {heartbeat_msec: 500}\n");
  auto bad = tree.call("reload", Value::object(), std::chrono::seconds(60));
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->ok);
  EXPECT_NE(bad->message.find(tree.config().string() + ":"), std::string::npos) << bad->message;
  EXPECT_NE(bad->message.find("heartbeat_msec"), std::string::npos) << bad->message;
  EXPECT_EQ(tree.pid_of("a"), a);
  // A good change there is applied by the program at its start: the reload says so.
  tree.write_config(base_tree() + "broker: {heartbeat_ms: 500}\n");
  auto good = tree.call("reload", Value::object(), std::chrono::seconds(60));
  ASSERT_TRUE(good);
  EXPECT_TRUE(good->ok) << good->message;
  const Value* notes = good->result.find("notes");
  ASSERT_NE(notes, nullptr) << to_json(good->result);
  ASSERT_EQ(notes->size(), 1u);
  EXPECT_EQ(notes->as_array()[0].as_string().rfind("broker: changed; ", 0), 0u);
  EXPECT_TRUE(wait_until([&] { return tree.log().find("reload: broker: changed") != std::string::npos; },
                         10s))
      << tree.log();
  EXPECT_EQ(tree.pid_of("a"), a);
}

TEST(SupervisorReload, SighupReloads) {
  Tree tree(base_tree());
  tree.start_and_wait();
  tree.write_config(base_tree("--ready", 2, "  - {name: d, command: " + child_command() + "}\n"));
  ASSERT_TRUE(tree.process().signal(SIGHUP));
  EXPECT_TRUE(tree.wait_child_state("d", "running")) << tree.log();
}

TEST(SupervisorScale, GrowsAndShrinksAPoolWithinMaxChildren) {
  Tree tree(base_tree());
  tree.start_and_wait();
  auto up = ctl(tree, {"scale", "w", "4"});
  EXPECT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("scaled w to 4"), std::string::npos);
  EXPECT_TRUE(tree.wait_child_state("w.4", "running"));
  auto down = ctl(tree, {"scale", "w", "1"});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(tree.child("w")->find("children")->size(), 1u);
  auto over = ctl(tree, {"scale", "w", "5"});
  EXPECT_EQ(over.exit_code, 2);
  EXPECT_NE(over.err.find("max_children"), std::string::npos) << over.err;
}

// ---- pipelinectl ----------------------------------------------------------------------------

TEST(Pipelinectl, StatusShowsTheTreeForPeopleAndJsonForMachines) {
  Tree tree(base_tree());
  tree.start_and_wait();
  auto human = ctl(tree, {"status"});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  for (const char* s : {"root", "├─ a", "├─ b", "└─ w", "w.2", "running", "restarts"}) {
    EXPECT_NE(human.out.find(s), std::string::npos) << s << "\n" << human.out;
  }
  // A tree without a broker (a worker host) has no databases to back up: no word of backups.
  EXPECT_EQ(human.out.find("backups"), std::string::npos) << human.out;
  auto json = ctl(tree, {"status", "--json"});
  ASSERT_EQ(json.exit_code, 0);
  auto parsed = parse_json(json.out);
  ASSERT_TRUE(parsed.ok()) << json.out;
  EXPECT_EQ(parsed->find("backups"), nullptr) << json.out;
  const Value& a = parsed->find("children")->as_array()[0];
  for (const char* key : {"name", "type", "pid", "state", "uptime_ms", "restarts", "last_exit"}) {
    EXPECT_NE(a.find(key), nullptr) << key;
  }
}

TEST(Pipelinectl, SaysSoWhenNoSupervisorAnswers) {
  TempDir empty;
  auto r = run_command({binary("pipelinectl"), "--state-dir", empty.path().string(), "status"});
  EXPECT_EQ(r.exit_code, 69);
  EXPECT_NE(r.err.find(empty.path().string()), std::string::npos) << r.err;
  auto env = run_command({binary("pipelinectl"), "restart", "x"}, std::chrono::seconds(30),
                         SpawnOptions{{"PIPELINE_STATE_DIR=" + empty.path().string()}, {}, {}, {}, {}});
  EXPECT_EQ(env.exit_code, 69);
}

TEST(Pipelinectl, StopStartRestart) {
  Tree tree(base_tree());
  tree.start_and_wait();
  const int64_t b = tree.pid_of("b");
  auto stop = ctl(tree, {"stop", "b"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(tree.child("b")->get_string("state"), "stopped");
  auto again = ctl(tree, {"stop", "b"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("not running"), std::string::npos);
  auto start = ctl(tree, {"start", "b"});
  EXPECT_EQ(start.exit_code, 0) << start.err;
  const int64_t b2 = tree.pid_of("b");
  EXPECT_GT(b2, 0);
  EXPECT_NE(b2, b);
  auto restart = ctl(tree, {"restart", "b"});
  EXPECT_EQ(restart.exit_code, 0) << restart.err;
  EXPECT_NE(tree.pid_of("b"), b2);
  auto unknown = ctl(tree, {"restart", "nope"});
  EXPECT_EQ(unknown.exit_code, 2);  // what is not there is bad input, as for runs and sessions
  EXPECT_NE(unknown.err.find("no child named"), std::string::npos);
}

TEST(Pipelinectl, ATimeoutThatCannotBeWaitedForIsBadUsageAndNothingIsDone) {
  Tree tree(base_tree());
  tree.start_and_wait();
  const int64_t b = tree.pid_of("b");
  for (const char* timeout : {"0", "-5"}) {
    auto stop = ctl(tree, {"stop", "b", "--timeout", timeout});
    EXPECT_EQ(stop.exit_code, 2) << timeout << ": " << stop.err;
  }
  auto shutdown = ctl(tree, {"shutdown", "--timeout", "-1"});
  EXPECT_EQ(shutdown.exit_code, 2) << shutdown.err;
  auto follow = ctl(tree, {"events", "--follow", "--for", "-1"});
  EXPECT_EQ(follow.exit_code, 2) << follow.err;
  EXPECT_NE(follow.err.find("--for: Value -1 not in range 0 to 31536000000"), std::string::npos)
      << follow.err;
  EXPECT_EQ(tree.child("b")->get_string("state"), "running");
  EXPECT_EQ(tree.pid_of("b"), b);
}

TEST(Pipelinectl, EventsAndReloadAndShutdown) {
  Tree tree(base_tree());
  tree.start_and_wait();
  auto events = ctl(tree, {"events"});
  EXPECT_EQ(events.exit_code, 0);
  EXPECT_NE(events.out.find("ready"), std::string::npos) << events.out;
  auto json = ctl(tree, {"events", "--json"});
  ASSERT_TRUE(parse_json(json.out).ok()) << json.out;
  tree.write_config(base_tree() + "childern: []\n");
  auto bad = ctl(tree, {"reload"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("nothing changed"), std::string::npos) << bad.err;
  tree.write_config(base_tree());
  auto good = ctl(tree, {"reload"});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_NE(good.out.find("nothing changed"), std::string::npos) << good.out;
  auto down = ctl(tree, {"shutdown"});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(tree.wait_exit(), 0);
  EXPECT_TRUE(tree.wait_no_survivors());
}

TEST(Pipelinectl, EventsFollowStreamsUntilTheTreeStops) {
  Tree tree(base_tree());
  tree.start_and_wait();
  SpawnOptions options;
  options.stdout_file = tree.dir() / "follow.out";
  Process follower = Process::spawn({binary("pipelinectl"), "--state-dir", tree.state_dir().string(),
                                     "events", "--follow"},
                                    options);
  // Once the follower has printed the history, it is subscribed.
  ASSERT_TRUE(wait_until([&] { return read_text(tree.dir() / "follow.out").find("started") != std::string::npos; },
                         std::chrono::seconds(30)));
  const int64_t a = tree.pid_of("a");
  ::kill(static_cast<pid_t>(a), SIGKILL);
  EXPECT_TRUE(wait_until(
      [&] {
        return read_text(tree.dir() / "follow.out").find("exited") != std::string::npos;
      },
      std::chrono::seconds(30)));
  tree.call("shutdown");
  EXPECT_EQ(follower.wait(std::chrono::seconds(60)), 0);
}

// ---- The event stream the broker uses -----------------------------------------------------------

TEST(SupervisorEvents, ExitsArePublishedOnThePubSocket) {
  Tree tree(base_tree());
  tree.start_and_wait();
  net::Context context;
  net::Socket sub(context, net::SocketKind::kSub);
  ASSERT_TRUE(sub.connect(*StatePaths(tree.state_dir()).events_endpoint()).ok());
  ASSERT_TRUE(sub.subscribe("child.exited").ok());
  std::vector<net::PollEntry> entries{{sub.raw(), -1, false}};
  // A subscription takes effect asynchronously: kill until an exit is heard.
  std::optional<protocol::ChildEvent> heard;
  int64_t killed = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        killed = tree.pid_of("w.1");
        if (killed > 0) ::kill(static_cast<pid_t>(killed), SIGKILL);
        auto polled = net::poll(entries, 1000);
        if (!polled.ok() || *polled == 0) return false;
        auto frames = sub.receive();
        if (!frames.ok() || !frames->has_value() || (*frames)->size() != 2) return false;
        EXPECT_EQ((**frames)[0], "child.exited");
        auto message = protocol::decode((**frames)[1]);
        if (!message.ok() || message->type != protocol::MessageType::kChildEvent) return false;
        auto e = protocol::child_event_from(message->body);
        if (!e.ok()) return false;
        heard = *e;
        return true;
      },
      std::chrono::seconds(30)));
  EXPECT_EQ(heard->child.rfind("w.", 0), 0u);
  EXPECT_GT(heard->pid, 0);
  EXPECT_EQ(heard->signal, SIGKILL);
}

// ---- systemd -----------------------------------------------------------------------------------

class FakeManager {
 public:
  explicit FakeManager(const std::filesystem::path& path) : path_(path.string()) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~FakeManager() { ::close(fd_); }
  // Waits for a datagram containing `text`.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return wait_until(
        [&] {
          for (;;) {
            char buf[4096];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0) break;
            seen_.append(buf, static_cast<size_t>(n)).append("\n");
          }
          return seen_.find(text) != std::string::npos;
        },
        timeout);
  }
  const std::string& path() const { return path_; }
  const std::string& seen() const { return seen_; }

 private:
  std::string path_;
  int fd_;
  std::string seen_;
};

TEST(SupervisorSystemd, SpeaksTheNotifyProtocolToItsManager) {
  Tree tree(base_tree());
  FakeManager manager(tree.dir() / "systemd.sock");
  tree.start({"NOTIFY_SOCKET=" + manager.path(), "WATCHDOG_USEC=200000"});
  EXPECT_TRUE(manager.wait_for("READY=1")) << manager.seen();
  EXPECT_TRUE(manager.wait_for("WATCHDOG=1")) << manager.seen();
  auto reload = tree.call("reload", Value::object(), std::chrono::seconds(60));
  ASSERT_TRUE(reload && reload->ok);
  EXPECT_TRUE(manager.wait_for("RELOADING=1")) << manager.seen();
  ASSERT_TRUE(tree.process().signal(SIGTERM));
  EXPECT_TRUE(manager.wait_for("STOPPING=1")) << manager.seen();
  EXPECT_EQ(tree.wait_exit(), 0);
  // The children spoke to the supervisor, not to systemd: one READY=1 per reload or start.
  EXPECT_EQ(manager.seen().find("MAINPID"), std::string::npos);
}

// ---- No orphans --------------------------------------------------------------------------------

TEST(SupervisorOrphans, NothingSurvivesKill9OfTheSupervisor) {
  Tree tree(
      "children:\n"
      "  - {name: a, command: " + child_command("--grandchild") + "}\n"
      "  - {name: w, type: pool, count: 3, command: " + child_command("--grandchild, --ready") +
      ", ready: notify}\n"
      "  - name: sub\n"
      "    type: supervisor\n"
      "    children:\n"
      "      - {name: s, command: [sh, -c, '" + binary("pipeline-test-child") + " --grandchild; true']}\n");
  tree.start_and_wait();
  ASSERT_TRUE(tree.wait_log("[sub.s] grandchild"));
  // supervisor + guard + 5 children + 5 grandchildren + the sh
  EXPECT_GE(tree.survivors().size(), 12u);
  ASSERT_TRUE(tree.process().signal(SIGKILL));
  EXPECT_TRUE(tree.wait_exit());
  EXPECT_TRUE(tree.wait_no_survivors()) << tree.survivors().size() << " left";
}

TEST(SupervisorOrphans, AToolsChildrenDoNotOutliveTheKilledWorkerThatStartedIt) {
  // A worker runs each tool in a process group of its own, killed with the worker by
  // PDEATHSIG; the tool's own children are left to the supervisor, which ends them.
  Tree tree("children:\n  - {name: a, command: " + child_command("--tool-grandchild") + "}\n");
  tree.start_and_wait();
  ASSERT_TRUE(tree.wait_log("[a] tool-grandchild "));
  const std::string log = tree.log();
  const size_t at = log.find("[a] tool-grandchild ") + std::string("[a] tool-grandchild ").size();
  const pid_t orphan = static_cast<pid_t>(std::stol(log.substr(at)));
  ASSERT_GT(orphan, 0);
  const auto alive = [&] {
    const std::string status = read_text("/proc/" + std::to_string(orphan) + "/status");
    return !status.empty() && status.find("State:\tZ") == std::string::npos;
  };
  ASSERT_TRUE(alive());
  ASSERT_EQ(::kill(static_cast<pid_t>(tree.pid_of("a")), SIGKILL), 0);
  EXPECT_TRUE(wait_until([&] { return !alive(); }, 10s)) << "the tool's child outlived its worker";
}

TEST(SupervisorOrphans, AKilledGuardIsReplaced) {
  Tree tree("children:\n  - {name: a, command: " + child_command("--grandchild") + "}\n");
  tree.start_and_wait();
  ASSERT_TRUE(tree.wait_log("[a] grandchild"));
  auto guard_pid = [&]() -> pid_t {
    for (pid_t p : tree.survivors()) {
      if (read_text("/proc/" + std::to_string(p) + "/comm") == "pl-guard\n") return p;
    }
    return 0;
  };
  const pid_t first = guard_pid();
  ASSERT_GT(first, 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  // One look per try: two would let "still the old one" and then "none yet" pass as a new one,
  // and the supervisor would be killed before its new guard exists.
  ASSERT_TRUE(wait_until(
      [&] {
        const pid_t now = guard_pid();
        return now != 0 && now != first;
      },
      std::chrono::seconds(30)))
      << tree.log();
  ASSERT_TRUE(tree.process().signal(SIGKILL));
  EXPECT_TRUE(tree.wait_exit());
  EXPECT_TRUE(tree.wait_no_survivors()) << tree.survivors().size() << " left: " << [&] {
    std::string who;
    for (pid_t p : tree.survivors()) {
      who += std::to_string(p) + " " + read_text("/proc/" + std::to_string(p) + "/stat") + "; ";
    }
    return who;
  }() << "\nlog:\n" << tree.log();
}

TEST(SupervisorOrphans, AGrandchildLeftBehindByAnExitedChildIsKilled) {
  Tree tree(
      "supervisor: {intensity: 10}\n"
      "children:\n"
      "  - {name: a, command: " + child_command("--grandchild, --exit-after-ms, 200") + "}\n");
  tree.start_and_wait();
  ASSERT_TRUE(tree.wait_event("exited", "a"));
  ASSERT_TRUE(tree.process().signal(SIGTERM));
  EXPECT_EQ(tree.wait_exit(), 0);
  EXPECT_TRUE(tree.wait_no_survivors());
}

TEST(SupervisorOrphans, AGrandchildThatLeftItsGroupDoesNotOutliveTheSupervisor) {
  // setsid: out of the child's process group, so killing the group misses it; its parent
  // ends and it is reparented to the supervisor, which kills it before it exits.
  Tree tree(
      "children:\n"
      "  - {name: a, command: [sh, -c, 'setsid sleep 1000 & echo escaped $!; exec " +
      binary("pipeline-test-child") + "']}\n");
  tree.start_and_wait();
  ASSERT_TRUE(tree.wait_log("[a] escaped", std::chrono::seconds(10))) << tree.log();
  ASSERT_TRUE(tree.process().signal(SIGTERM));
  EXPECT_EQ(tree.wait_exit(), 0) << tree.log();
  EXPECT_TRUE(tree.wait_no_survivors(std::chrono::seconds(10))) << tree.log();
}

}  // namespace
}  // namespace pl::test
