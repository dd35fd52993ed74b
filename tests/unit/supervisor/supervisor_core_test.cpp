// The restart rules, case by case. Names follow OTP's supervisor_SUITE where a case exists there.
#include <gtest/gtest.h>

#include "common/json.h"
#include "tests/unit/supervisor/core_driver.h"

namespace pl::supervisor {
namespace {

using testing::CoreDriver;
using testing::pool;
using testing::supervisor;
using testing::worker;
using Names = std::vector<std::string>;
using std::chrono::seconds;

ChildSpec three_workers(Strategy strategy, int64_t intensity = 1) {
  return supervisor("root", strategy, intensity, {worker("a"), worker("b"), worker("c")});
}

// ---- Start and stop ---------------------------------------------------------------------------

TEST(SupStart, SupStartNormalStartsChildrenInOrderThenSaysReady) {
  CoreDriver d(three_workers(Strategy::kOneForOne));
  d.start();
  EXPECT_EQ(d.spawned(), (Names{"a", "b", "c"}));
  EXPECT_EQ(d.manager_states(), (Names{"READY=1\nSTATUS=running"}));
  EXPECT_EQ(d.status().get_string("state"), "running");
}

TEST(SupStart, NextChildWaitsForReadyOfThePrevious) {
  auto spec = supervisor("root", Strategy::kOneForOne, 1,
                         {worker("a", RestartType::kPermanent, ReadyMode::kNotify), worker("b")});
  CoreDriver d(spec);
  d.hold_ready = {"a"};
  d.start();
  EXPECT_EQ(d.spawned(), (Names{"a"}));
  EXPECT_TRUE(d.manager_states().empty());
  d.ready("a");
  EXPECT_EQ(d.spawned(), (Names{"a", "b"}));
  EXPECT_EQ(d.events("ready"), (Names{"a"}));
  EXPECT_EQ(d.manager_states().size(), 1u);
}

TEST(SupStart, SupStartFailStopsStartedChildrenInReverseAndExits1) {
  CoreDriver d(three_workers(Strategy::kOneForOne));
  d.fail_spawn = {"c"};
  d.start();
  EXPECT_EQ(d.signals(), (std::vector<std::pair<std::string, int>>{{"b", SIGTERM}, {"a", SIGTERM}}));
  EXPECT_EQ(d.exit_code(), 1);
  EXPECT_EQ(d.events("gave_up"), (Names{"root"}));
}

TEST(SupStart, ReadyTimeoutDuringStartKillsTheChildAndFailsTheStart) {
  auto spec = supervisor("root", Strategy::kOneForOne, 5,
                         {worker("a"), worker("b", RestartType::kPermanent, ReadyMode::kNotify)});
  spec.children[1].process.ready_timeout_ms = 2000;
  CoreDriver d(spec);
  d.hold_ready = {"b"};
  d.start();
  d.advance(milliseconds(1999));
  EXPECT_FALSE(d.exit_code());
  d.advance(milliseconds(1));
  EXPECT_EQ(d.events("ready_timeout"), (Names{"b"}));
  EXPECT_EQ(d.signals().front(), (std::pair<std::string, int>{"b", SIGKILL}));
  EXPECT_FALSE(d.running("a"));
  EXPECT_EQ(d.exit_code(), 1);
}

TEST(SupStart, ChildExitingBeforeReadyFailsTheStart) {
  auto spec = supervisor("root", Strategy::kOneForOne, 5,
                         {worker("a", RestartType::kPermanent, ReadyMode::kNotify)});
  CoreDriver d(spec);
  d.die_on_spawn = {"a"};
  d.start();
  EXPECT_EQ(d.exit_code(), 1);
}

TEST(SupStart, APoolMemberFailingToStartStopsItsSiblingsAtOnce) {
  auto spec = supervisor("root", Strategy::kOneForOne, 1, {pool("w", 3)});
  spec.children[0].process.ready = ReadyMode::kNotify;
  CoreDriver d(spec);
  d.hold_ready = {"w.1", "w.3"};
  d.fail_spawn = {"w.2"};
  d.start();
  EXPECT_FALSE(d.running("w.1"));
  EXPECT_FALSE(d.running("w.3"));
  EXPECT_EQ(d.exit_code(), 1);
}

TEST(SupStop, StopsChildrenInReverseOrderThenExits0) {
  CoreDriver d(three_workers(Strategy::kOneForOne));
  d.start();
  d.shutdown();
  EXPECT_EQ(d.signals(), (std::vector<std::pair<std::string, int>>{
                             {"c", SIGTERM}, {"b", SIGTERM}, {"a", SIGTERM}}));
  EXPECT_EQ(d.events("stopped"), (Names{"c", "b", "a", "root"}));
  EXPECT_EQ(d.manager_states().back(), "STOPPING=1");
  EXPECT_EQ(d.exit_code(), 0);
}

TEST(SupStop, SupStopTimeoutKillsAChildThatIgnoresSigterm) {
  CoreDriver d(three_workers(Strategy::kOneForOne));
  d.ignore_sigterm = {"c"};
  d.start();
  d.shutdown();
  EXPECT_EQ(d.signals(), (std::vector<std::pair<std::string, int>>{{"c", SIGTERM}}));
  d.advance(milliseconds(999));
  EXPECT_TRUE(d.running("c"));
  d.advance(milliseconds(1));
  EXPECT_EQ(d.signals()[1], (std::pair<std::string, int>{"c", SIGKILL}));
  EXPECT_EQ(d.exit_code(), 0);
}

TEST(SupStop, SupStopBrutalKillSendsSigkillAtOnce) {
  auto spec = three_workers(Strategy::kOneForOne);
  spec.children[2].process.brutal_kill = true;
  CoreDriver d(spec);
  d.start();
  d.shutdown();
  EXPECT_EQ(d.signals().front(), (std::pair<std::string, int>{"c", SIGKILL}));
}

TEST(SupStop, ShutdownDuringStartStopsWhatStartedAndExits0) {
  auto spec = supervisor("root", Strategy::kOneForOne, 1,
                         {worker("a"), worker("b", RestartType::kPermanent, ReadyMode::kNotify),
                          worker("c")});
  CoreDriver d(spec);
  d.hold_ready = {"b"};
  d.start();
  d.shutdown();
  EXPECT_EQ(d.spawned(), (Names{"a", "b"}));
  EXPECT_FALSE(d.running("a"));
  EXPECT_FALSE(d.running("b"));
  EXPECT_EQ(d.exit_code(), 0);
}

TEST(SupStop, PoolMembersStopInParallel) {
  auto spec = supervisor("root", Strategy::kOneForOne, 1, {pool("w", 3)});
  CoreDriver d(spec);
  d.ignore_sigterm = {"w.1", "w.2", "w.3"};
  d.start();
  d.shutdown();
  // All three got SIGTERM before any was killed.
  ASSERT_EQ(d.signals().size(), 3u);
  for (const auto& [name, sig] : d.signals()) EXPECT_EQ(sig, SIGTERM);
  d.advance(milliseconds(1000));
  EXPECT_EQ(d.exit_code(), 0);
}

// ---- Restart types ----------------------------------------------------------------------------

struct RestartCase {
  RestartType restart;
  int status;
  int signal;
  bool restarted;
};

class RestartTypeMatrix : public ::testing::TestWithParam<RestartCase> {};

TEST_P(RestartTypeMatrix, RestartsExactlyWhenTheRuleSays) {
  const RestartCase& rc = GetParam();
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {worker("a", rc.restart)}));
  d.start();
  const int64_t before = d.pid("a");
  if (rc.signal != 0) {
    d.kill("a", rc.signal);
  } else {
    d.exit("a", rc.status);
  }
  EXPECT_EQ(d.running("a"), rc.restarted);
  if (rc.restarted) {
    EXPECT_NE(d.pid("a"), before);
  }
  EXPECT_EQ(d.events("exited"), (Names{"a"}));
  EXPECT_FALSE(d.exit_code());
}

INSTANTIATE_TEST_SUITE_P(
    OtpRestartTypes, RestartTypeMatrix,
    ::testing::Values(RestartCase{RestartType::kPermanent, 0, 0, true},    // permanent_normal
                      RestartCase{RestartType::kPermanent, 3, 0, true},    // permanent_abnormal
                      RestartCase{RestartType::kPermanent, -1, 9, true},   // permanent_killed
                      RestartCase{RestartType::kTransient, 0, 0, false},   // transient_normal
                      RestartCase{RestartType::kTransient, 3, 0, true},    // transient_abnormal
                      RestartCase{RestartType::kTransient, -1, 15, true},  // transient_signal
                      RestartCase{RestartType::kTemporary, 0, 0, false},   // temporary_normal
                      RestartCase{RestartType::kTemporary, 3, 0, false},   // temporary_abnormal
                      RestartCase{RestartType::kTemporary, -1, 9, false}));

TEST(RestartTypes, TemporaryBystanderIsStoppedButNotRestartedByOneForAll) {
  CoreDriver d(supervisor("root", Strategy::kOneForAll, 5,
                          {worker("a"), worker("t", RestartType::kTemporary)}));
  d.start();
  d.kill("a");
  EXPECT_TRUE(d.running("a"));
  EXPECT_FALSE(d.running("t"));
  EXPECT_EQ(d.spawned(), (Names{"a", "t", "a"}));
}

TEST(RestartTypes, ExitedEventComesBeforeAnyRestartWork) {
  CoreDriver d(three_workers(Strategy::kOneForAll, 5));
  d.start();
  d.clear_history();
  d.kill("b");
  ASSERT_FALSE(d.published().empty());
  EXPECT_EQ(d.published().front().kind, "exited");
  EXPECT_EQ(d.published().front().child, "b");
  EXPECT_EQ(d.published().front().signal, SIGKILL);
}

// ---- Strategies -------------------------------------------------------------------------------

TEST(Strategies, OneForOneRestartsOnlyTheChildThatDied) {
  CoreDriver d(three_workers(Strategy::kOneForOne, 5));
  d.start();
  const int64_t a = d.pid("a"), c = d.pid("c");
  d.kill("b");
  EXPECT_EQ(d.pid("a"), a);
  EXPECT_EQ(d.pid("c"), c);
  EXPECT_TRUE(d.running("b"));
  EXPECT_EQ(d.events("restarting"), (Names{"b"}));
}

TEST(Strategies, OneForOneEscalationStopsAllAndTheRootExits1) {
  CoreDriver d(three_workers(Strategy::kOneForOne, 1));
  d.start();
  d.kill("a");
  EXPECT_FALSE(d.exit_code());
  d.kill("a");
  EXPECT_EQ(d.events("gave_up"), (Names{"root"}));
  EXPECT_EQ(d.manager_states().back(), "STOPPING=1");  // systemd learns the tree is going down
  EXPECT_FALSE(d.running("b"));
  EXPECT_FALSE(d.running("c"));
  EXPECT_EQ(d.exit_code(), 1);
}

TEST(Strategies, OneForAllStopsOthersInReverseThenStartsAllInOrder) {
  CoreDriver d(three_workers(Strategy::kOneForAll, 5));
  d.start();
  d.clear_history();
  d.kill("b");
  EXPECT_EQ(d.signals(), (std::vector<std::pair<std::string, int>>{{"c", SIGTERM}, {"a", SIGTERM}}));
  EXPECT_EQ(d.spawned(), (Names{"a", "b", "c"}));
  EXPECT_EQ(d.status().find("children")->as_array()[0].get_int("restarts"), 1);
}

TEST(Strategies, OneForAllEscalation) {
  CoreDriver d(three_workers(Strategy::kOneForAll, 1));
  d.start();
  d.kill("c");
  d.kill("a");
  EXPECT_EQ(d.exit_code(), 1);
}

TEST(Strategies, OneForAllOtherChildFailsRestartStopsTheRestartedOnesAndTriesAgain) {
  CoreDriver d(supervisor("root", Strategy::kOneForAll, 3, {worker("a"), worker("b")}));
  d.start();
  d.fail_spawn = {"b"};
  d.clear_history();
  d.kill("a");  // a restarts; b fails; a is stopped again; retried until intensity is exceeded
  EXPECT_EQ(d.spawned(), (Names{"a", "b", "a", "b", "a", "b"}));
  EXPECT_EQ(d.exit_code(), 1);
}

TEST(Strategies, OneForAllRetrySucceedsOnceTheChildStartsAgain) {
  CoreDriver d(supervisor("root", Strategy::kOneForAll, 5, {worker("a"), worker("b")}));
  d.start();
  d.fail_spawn_times["b"] = 1;
  d.clear_history();
  d.kill("a");
  EXPECT_EQ(d.spawned(), (Names{"a", "b", "a", "b"}));
  EXPECT_TRUE(d.running("a"));
  EXPECT_TRUE(d.running("b"));
  EXPECT_FALSE(d.exit_code());
}

TEST(Strategies, RestForOneRestartsTheChildAndThoseAfterIt) {
  CoreDriver d(three_workers(Strategy::kRestForOne, 5));
  d.start();
  const int64_t a = d.pid("a");
  d.clear_history();
  d.kill("b");
  EXPECT_EQ(d.signals(), (std::vector<std::pair<std::string, int>>{{"c", SIGTERM}}));
  EXPECT_EQ(d.spawned(), (Names{"b", "c"}));
  EXPECT_EQ(d.pid("a"), a);
}

TEST(Strategies, RestForOneEscalation) {
  CoreDriver d(three_workers(Strategy::kRestForOne, 1));
  d.start();
  d.kill("b");
  d.kill("c");
  EXPECT_EQ(d.exit_code(), 1);
}

TEST(Strategies, RestForOneOtherChildFailsRestartRetriesFromTheFailedChildOnly) {
  CoreDriver d(supervisor("root", Strategy::kRestForOne, 3, {worker("a"), worker("b")}));
  d.start();
  d.fail_spawn = {"b"};
  d.clear_history();
  d.kill("a");
  // a restarts once; b is retried alone (a is not restarted again).
  EXPECT_EQ(d.spawned(), (Names{"a", "b", "b", "b"}));
  EXPECT_EQ(d.exit_code(), 1);
}

TEST(Strategies, SimpleOneForOneRestartsTheMemberAlone) {
  CoreDriver d(supervisor("root", Strategy::kOneForAll, 5, {worker("x"), pool("w", 3)}));
  d.start();
  const int64_t x = d.pid("x"), w1 = d.pid("w.1"), w3 = d.pid("w.3");
  d.kill("w.2");
  EXPECT_TRUE(d.running("w.2"));
  EXPECT_EQ(d.pid("x"), x);
  EXPECT_EQ(d.pid("w.1"), w1);
  EXPECT_EQ(d.pid("w.3"), w3);
}

TEST(Strategies, SimpleOneForOneEscalationRestartsThePoolAsOneChild) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {worker("x"), pool("w", 2)}));
  d.start();
  const int64_t x = d.pid("x");
  d.kill("w.1");
  d.kill("w.2");  // the pool's second restart in its window: it gives up, the root restarts it
  EXPECT_EQ(d.events("escalated"), (Names{"w"}));
  EXPECT_TRUE(d.running("w.1"));
  EXPECT_TRUE(d.running("w.2"));
  EXPECT_EQ(d.pid("x"), x);
  EXPECT_FALSE(d.exit_code());
}

TEST(Strategies, AStoppedChildKeepsNoStatusTextOfTheProcessThatWasGone) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {worker("a", RestartType::kTransient)}));
  d.start();
  NotifyReceived n;
  n.pid = d.pid("a");
  n.status = "endpoint=ipc:///x.sock";
  d.send(n);
  EXPECT_EQ(d.status().find("children")->as_array()[0].get_string("status_text"),
            "endpoint=ipc:///x.sock");
  d.exit("a", 0);  // transient, exit 0: stays stopped
  const Value status = d.status();
  const Value& a = status.find("children")->as_array()[0];
  EXPECT_EQ(a.get_string("state"), "stopped");
  EXPECT_EQ(a.find("status_text"), nullptr);
}

TEST(Strategies, TemporaryPoolMemberIsRemovedWhenItEnds) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {pool("w", 2, RestartType::kTemporary)}));
  d.start();
  d.exit("w.1", 0);
  const Value status = d.status();
  const Value& w = status.find("children")->as_array()[0];
  EXPECT_EQ(w.find("children")->size(), 1u);
  EXPECT_EQ(w.get_int("count"), 1);
}

// ---- Intensity --------------------------------------------------------------------------------

TEST(Intensity, MultipleRestartsOutsideThePeriodDoNotAccumulate) {
  CoreDriver d(three_workers(Strategy::kOneForOne, 1));
  d.start();
  for (int i = 0; i < 5; ++i) {
    d.kill("a");
    d.advance(seconds(6));
  }
  EXPECT_FALSE(d.exit_code());
  EXPECT_TRUE(d.running("a"));
}

TEST(Intensity, ZeroIntensityGivesUpAtTheFirstRestart) {
  CoreDriver d(three_workers(Strategy::kOneForOne, 0));
  d.start();
  d.kill("b");
  EXPECT_EQ(d.exit_code(), 1);
}

TEST(Intensity, HangingRestartLoopEndsInEscalationNotAHang) {
  CoreDriver d(three_workers(Strategy::kOneForOne, 3));
  d.start();
  d.fail_spawn = {"b"};
  d.kill("b");
  EXPECT_EQ(d.exit_code(), 1);
  EXPECT_EQ(d.events("start_failed").size(), 3u);
}

TEST(Intensity, HangingRestartLoopSimple) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 0, {pool("w", 2)}));
  d.start();
  d.fail_spawn = {"w.1"};
  d.kill("w.1");
  EXPECT_EQ(d.events("escalated"), (Names{"w"}));
  EXPECT_EQ(d.exit_code(), 1);
}

TEST(Intensity, NestedEscalationCountsAsOneRestartOfTheSubtree) {
  auto sub = supervisor("sub", Strategy::kOneForOne, 1, {worker("a"), worker("b")});
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {worker("x"), sub}));
  d.start();
  EXPECT_TRUE(d.running("sub.a"));
  const int64_t x = d.pid("x");
  d.kill("sub.a");
  d.kill("sub.a");  // sub gives up, stops sub.b, root restarts sub
  EXPECT_EQ(d.events("escalated"), (Names{"sub"}));
  EXPECT_TRUE(d.running("sub.a"));
  EXPECT_TRUE(d.running("sub.b"));
  EXPECT_EQ(d.pid("x"), x);
  EXPECT_FALSE(d.exit_code());
  const Value status = d.status();
  const Value& s = status.find("children")->as_array()[1];
  EXPECT_EQ(s.get_int("restarts"), 1);
}

TEST(Intensity, TreeEscalatesAllTheWayUp) {
  auto sub = supervisor("sub", Strategy::kOneForOne, 0, {worker("a")});
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 0, {sub}));
  d.start();
  d.kill("sub.a");
  EXPECT_EQ(d.events("escalated"), (Names{"sub"}));
  EXPECT_EQ(d.events("gave_up"), (Names{"root"}));
  EXPECT_EQ(d.exit_code(), 1);
}

// ---- Busy supervisors -------------------------------------------------------------------------

TEST(Mailbox, AnExitDuringARestartWaitsItsTurnButIsPublishedAtOnce) {
  auto spec = supervisor("root", Strategy::kOneForOne, 5,
                         {worker("a", RestartType::kPermanent, ReadyMode::kNotify), worker("b")});
  CoreDriver d(spec);
  d.start();
  d.hold_ready = {"a"};
  d.kill("a");  // a restarting, waiting for READY=1
  d.clear_history();
  d.kill("b");
  EXPECT_EQ(d.events("exited"), (Names{"b"}));
  EXPECT_FALSE(d.running("b"));
  d.ready("a");
  EXPECT_TRUE(d.running("b"));
}

// ---- Readiness and watchdog -------------------------------------------------------------------

TEST(Watchdog, MissedWatchdogKillsAndRestarts) {
  auto spec = supervisor("root", Strategy::kOneForOne, 5, {worker("a")});
  spec.children[0].process.watchdog_ms = 500;
  CoreDriver d(spec);
  d.start();
  const int64_t first = d.pid("a");
  d.advance(milliseconds(400));
  d.watchdog("a");
  d.advance(milliseconds(400));
  EXPECT_EQ(d.pid("a"), first);
  d.advance(milliseconds(100));
  EXPECT_EQ(d.events("watchdog_timeout"), (Names{"a"}));
  EXPECT_TRUE(d.running("a"));
  EXPECT_NE(d.pid("a"), first);
}

TEST(Readiness, ReadyTimeoutOnRestartIsRetriedAndCounted) {
  auto spec = supervisor("root", Strategy::kOneForOne, 2,
                         {worker("a", RestartType::kPermanent, ReadyMode::kNotify)});
  spec.children[0].process.ready_timeout_ms = 100;
  CoreDriver d(spec);
  d.start();
  d.hold_ready = {"a"};
  d.kill("a");
  d.advance(milliseconds(100));
  EXPECT_EQ(d.events("ready_timeout").size(), 1u);
  EXPECT_FALSE(d.exit_code());
  d.advance(milliseconds(100));
  EXPECT_EQ(d.exit_code(), 1);
}

// A tree of one child "a", started when it says READY=1, which it must within a second.
auto one_notify_child_ready_within_a_second() {
  auto spec = supervisor("root", Strategy::kOneForOne, 5,
                         {worker("a", RestartType::kPermanent, ReadyMode::kNotify)});
  spec.children[0].process.ready_timeout_ms = 1000;
  return spec;
}

TEST(Readiness, AStartingChildThatAsksForMoreTimeGetsItAndNoMore) {
  CoreDriver d(one_notify_child_ready_within_a_second());
  d.hold_ready = {"a"};
  d.start();
  d.advance(milliseconds(900));
  d.extend("a", 3'000'000);  // 3 s from now: until 3.9 s
  // The tree's own start waits for it: systemd is asked for the same time.
  EXPECT_EQ(d.manager_states(), (std::vector<std::string>{"EXTEND_TIMEOUT_USEC=3000000"}));
  d.advance(milliseconds(2000));
  d.extend("a", 1'000);  // a shorter extension never brings the deadline closer
  d.advance(milliseconds(999));
  EXPECT_TRUE(d.events("ready_timeout").empty());
  d.advance(milliseconds(1));
  ASSERT_EQ(d.events("ready_timeout"), (Names{"a"}));
  EXPECT_EQ(d.signals().front(), (std::pair<std::string, int>{"a", SIGKILL}));
}

TEST(Readiness, AnExtensionTooLongToAddCountsAsADay) {
  CoreDriver d(one_notify_child_ready_within_a_second());
  d.hold_ready = {"a"};
  d.start();
  d.extend("a", INT64_MAX);
  d.advance(std::chrono::hours(24) - milliseconds(1));
  EXPECT_TRUE(d.events("ready_timeout").empty());
  d.advance(milliseconds(1));
  EXPECT_EQ(d.events("ready_timeout"), (Names{"a"}));
}

TEST(Readiness, AnExtensionEndsWithTheStartItWasAskedFor) {
  CoreDriver d(one_notify_child_ready_within_a_second());
  d.start();
  d.extend("a", 60'000'000);  // running already: nothing to extend
  d.hold_ready = {"a"};
  d.kill("a");  // restarted: its new start has the configured deadline
  d.extend("a", 1'000);  // the tree is running: its manager has nothing to extend
  EXPECT_EQ(d.manager_states().size(), 1u);  // READY=1 only
  d.advance(milliseconds(1000));
  EXPECT_EQ(d.events("ready_timeout").size(), 1u);
}

TEST(Readiness, IdleTreeHasNoDeadline) {
  CoreDriver d(three_workers(Strategy::kOneForOne));
  d.start();
  EXPECT_FALSE(d.core().next_deadline());
}

// ---- Significant children ---------------------------------------------------------------------

TEST(Significant, SignificantTemporaryAnySignificantShutsTheTreeDownCleanly) {
  auto spec = supervisor("root", Strategy::kOneForOne, 1,
                         {worker("a"), worker("job", RestartType::kTemporary)});
  spec.flags.auto_shutdown = AutoShutdown::kAnySignificant;
  spec.children[1].significant = true;
  CoreDriver d(spec);
  d.start();
  d.exit("job", 3);
  EXPECT_FALSE(d.running("a"));
  EXPECT_EQ(d.manager_states().back(), "STOPPING=1");
  EXPECT_EQ(d.exit_code(), 0);
}

TEST(Significant, SignificantTransientIsRestartedAfterAnAbnormalExit) {
  auto spec = supervisor("root", Strategy::kOneForOne, 5,
                         {worker("a"), worker("job", RestartType::kTransient)});
  spec.flags.auto_shutdown = AutoShutdown::kAnySignificant;
  spec.children[1].significant = true;
  CoreDriver d(spec);
  d.start();
  d.exit("job", 1);
  EXPECT_TRUE(d.running("job"));
  d.exit("job", 0);
  EXPECT_EQ(d.exit_code(), 0);
}

TEST(Significant, AllSignificantWaitsForTheLastOne) {
  auto spec = supervisor("root", Strategy::kOneForOne, 5,
                         {worker("j1", RestartType::kTemporary), worker("j2", RestartType::kTemporary),
                          worker("a")});
  spec.flags.auto_shutdown = AutoShutdown::kAllSignificant;
  spec.children[0].significant = true;
  spec.children[1].significant = true;
  CoreDriver d(spec);
  d.start();
  d.exit("j1", 0);
  EXPECT_FALSE(d.exit_code());
  d.exit("j2", 0);
  EXPECT_EQ(d.exit_code(), 0);
}

TEST(Significant, SignificantBystanderDoesNotShutDown) {
  auto spec = supervisor("root", Strategy::kOneForOne, 5,
                         {worker("j", RestartType::kTemporary), worker("t", RestartType::kTemporary)});
  spec.flags.auto_shutdown = AutoShutdown::kAnySignificant;
  spec.children[0].significant = true;
  CoreDriver d(spec);
  d.start();
  d.exit("t", 0);
  EXPECT_FALSE(d.exit_code());
  EXPECT_TRUE(d.running("j"));
}

TEST(Significant, SignificantEscalationEndsATransientSubtreeNormally) {
  auto sub = supervisor("sub", Strategy::kOneForOne, 1, {worker("job", RestartType::kTemporary)});
  sub.restart = RestartType::kTransient;
  sub.flags.auto_shutdown = AutoShutdown::kAnySignificant;
  sub.children[0].significant = true;
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 1, {worker("a"), sub}));
  d.start();
  d.exit("sub.job", 0);
  EXPECT_FALSE(d.running("sub.job"));
  EXPECT_TRUE(d.running("a"));
  EXPECT_FALSE(d.exit_code());
  EXPECT_EQ(d.status().find("children")->as_array()[1].get_string("state"), "stopped");
}

// ---- Backoff ----------------------------------------------------------------------------------

TEST(Backoff, DelaysTheRestartButCountsItAtOnce) {
  auto spec = supervisor("root", Strategy::kOneForOne, 5, {worker("a"), worker("b")});
  spec.children[0].process.backoff = {100, 1000, 30000};
  CoreDriver d(spec);
  d.start();
  d.kill("a");
  EXPECT_FALSE(d.running("a"));
  EXPECT_EQ(d.status().find("children")->as_array()[0].get_string("state"), "restarting");
  d.advance(milliseconds(99));
  EXPECT_FALSE(d.running("a"));
  d.advance(milliseconds(1));
  EXPECT_TRUE(d.running("a"));
  d.kill("a");
  d.advance(milliseconds(199));
  EXPECT_FALSE(d.running("a"));
  d.advance(milliseconds(1));
  EXPECT_TRUE(d.running("a"));
}

TEST(Backoff, ResetsAfterAStableRun) {
  auto spec = supervisor("root", Strategy::kOneForOne, 5, {worker("a")});
  spec.children[0].process.backoff = {100, 1000, 1000};
  CoreDriver d(spec);
  d.start();
  d.kill("a");
  d.advance(milliseconds(100));
  d.advance(seconds(2));  // a stable run
  d.kill("a");
  d.advance(milliseconds(100));
  EXPECT_TRUE(d.running("a"));
}

TEST(Backoff, AChildWaitingOutItsDelayDoesNotHoldUpItsSiblings) {
  // one_for_one: a's delay is a's alone. Another child's restart, an operator's request and
  // a reload do not wait for it.
  auto spec = supervisor("root", Strategy::kOneForOne, 5, {worker("a"), worker("b")});
  spec.children[0].process.backoff = {1000, 1000, 30000};
  CoreDriver d(spec);
  d.start();
  d.kill("a");
  d.kill("b");
  EXPECT_TRUE(d.running("b"));
  EXPECT_FALSE(d.running("a"));
  EXPECT_EQ(d.status().find("children")->as_array()[0].get_string("state"), "restarting");
  d.advance(milliseconds(999));
  EXPECT_FALSE(d.running("a"));
  d.advance(milliseconds(1));
  EXPECT_TRUE(d.running("a"));

  d.kill("a");
  d.send(AdminRequested{1, AdminVerb::kStop, "a", 0});
  ASSERT_FALSE(d.replies().empty());
  EXPECT_EQ(d.replies().back().token, 1u);
  EXPECT_TRUE(d.replies().back().ok);
  d.advance(milliseconds(5000));
  EXPECT_FALSE(d.running("a"));  // stopped by an operator: stays stopped
  EXPECT_FALSE(d.core().next_deadline().has_value());
}

TEST(Backoff, PoolMembersWaitOutTheirDelaysApart) {
  auto pool_spec = pool("p", 2);
  pool_spec.process.backoff = {1000, 1000, 30000};
  pool_spec.flags.intensity = 10;
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 10, {pool_spec}));
  d.start();
  d.kill("p.1");
  d.advance(milliseconds(500));
  d.kill("p.2");
  d.advance(milliseconds(500));
  EXPECT_TRUE(d.running("p.1"));
  EXPECT_FALSE(d.running("p.2"));
  d.advance(milliseconds(500));
  EXPECT_TRUE(d.running("p.2"));
}

// ---- Operators --------------------------------------------------------------------------------

SendReply last_reply(const CoreDriver& d) { return d.replies().empty() ? SendReply{} : d.replies().back(); }

TEST(ChildAdm, StoppedChildStaysStoppedUntilStarted) {
  CoreDriver d(three_workers(Strategy::kOneForAll, 5));
  d.start();
  d.send(AdminRequested{1, AdminVerb::kStop, "b", 0});
  EXPECT_TRUE(last_reply(d).ok);
  EXPECT_FALSE(d.running("b"));
  d.kill("a");  // one_for_all: b was stopped by an operator and stays stopped
  EXPECT_TRUE(d.running("a"));
  EXPECT_FALSE(d.running("b"));
  d.send(AdminRequested{2, AdminVerb::kStart, "b", 0});
  EXPECT_TRUE(last_reply(d).ok);
  EXPECT_EQ(last_reply(d).token, 2u);
  EXPECT_TRUE(d.running("b"));
}

TEST(ChildAdm, RestartGivesANewProcessAndAnswersWhenStarted) {
  CoreDriver d(three_workers(Strategy::kOneForOne, 5));
  d.start();
  const int64_t before = d.pid("b");
  d.send(AdminRequested{7, AdminVerb::kRestart, "b", 0});
  EXPECT_TRUE(last_reply(d).ok);
  EXPECT_NE(d.pid("b"), before);
}

TEST(ChildAdm, RefusalsSayWhy) {
  CoreDriver d(three_workers(Strategy::kOneForOne, 5));
  d.start();
  d.send(AdminRequested{1, AdminVerb::kStart, "a", 0});
  EXPECT_EQ(last_reply(d).code, ErrorCode::kConflict);
  d.send(AdminRequested{2, AdminVerb::kStop, "nope", 0});
  EXPECT_EQ(last_reply(d).code, ErrorCode::kNotFound);
  d.send(AdminRequested{3, AdminVerb::kScale, "a", 2});
  EXPECT_EQ(last_reply(d).code, ErrorCode::kInvalidInput);
}

TEST(ChildAdm, AdminStartThatFailsAnswersWithTheReason) {
  CoreDriver d(three_workers(Strategy::kOneForOne, 5));
  d.start();
  d.send(AdminRequested{1, AdminVerb::kStop, "c", 0});
  d.fail_spawn = {"c"};
  d.send(AdminRequested{2, AdminVerb::kStart, "c", 0});
  EXPECT_FALSE(last_reply(d).ok);
  EXPECT_NE(last_reply(d).message.find("c failed to start"), std::string::npos);
  EXPECT_FALSE(d.exit_code());
}

TEST(ChildAdmSimple, ScaleUpAndDownWithinMaxChildren) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {pool("w", 2)}));
  d.start();
  d.send(AdminRequested{1, AdminVerb::kScale, "w", 4});
  EXPECT_TRUE(last_reply(d).ok);
  EXPECT_TRUE(d.running("w.3"));
  EXPECT_TRUE(d.running("w.4"));
  d.send(AdminRequested{2, AdminVerb::kScale, "w", 1});
  EXPECT_TRUE(last_reply(d).ok);
  EXPECT_TRUE(d.running("w.1"));
  EXPECT_FALSE(d.running("w.2"));
  EXPECT_FALSE(d.running("w.4"));
  d.send(AdminRequested{3, AdminVerb::kScale, "w", 9});
  EXPECT_EQ(last_reply(d).code, ErrorCode::kInvalidInput);
}

TEST(ChildAdmSimple, StoppingAMemberRemovesIt) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {pool("w", 3)}));
  d.start();
  d.send(AdminRequested{1, AdminVerb::kStop, "w.2", 0});
  EXPECT_TRUE(last_reply(d).ok);
  const Value status = d.status();
  const Value& w = status.find("children")->as_array()[0];
  EXPECT_EQ(w.find("children")->size(), 2u);
  d.send(AdminRequested{2, AdminVerb::kScale, "w", 3});
  EXPECT_TRUE(d.running("w.2"));  // the lowest free index is reused
}

// ---- Reload (OTP's code_change) ---------------------------------------------------------------

TEST(CodeChange, ReloadAppliesOnlyTheDifference) {
  auto before = supervisor("root", Strategy::kOneForOne, 5,
                           {worker("keep"), worker("change"), worker("drop"), pool("w", 2)});
  CoreDriver d(before);
  d.start();
  const int64_t keep = d.pid("keep"), w1 = d.pid("w.1");
  auto after = supervisor("root", Strategy::kOneForOne, 5,
                          {worker("keep"), worker("change"), pool("w", 3), worker("add")});
  after.children[1].process.argv = {"/bin/true", "--new"};
  d.clear_history();
  d.send(ReloadRequested{9, after});
  ASSERT_TRUE(last_reply(d).ok) << last_reply(d).message;
  EXPECT_EQ(d.pid("keep"), keep);
  EXPECT_EQ(d.pid("w.1"), w1);
  EXPECT_TRUE(d.running("w.3"));
  EXPECT_FALSE(d.running("drop"));
  EXPECT_TRUE(d.running("add"));
  EXPECT_TRUE(d.running("change"));
  EXPECT_EQ(d.signals(), (std::vector<std::pair<std::string, int>>{{"drop", SIGTERM}, {"change", SIGTERM}}));
  const Value& r = last_reply(d).result;
  EXPECT_EQ(r.find("added")->as_array().front(), Value("add"));
  EXPECT_EQ(r.find("removed")->as_array().front(), Value("drop"));
  EXPECT_EQ(r.find("replaced")->as_array().front(), Value("change"));
}

TEST(CodeChange, ReloadReachesNestedSupervisors) {
  auto sub = supervisor("sub", Strategy::kOneForOne, 1, {worker("a")});
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {sub}));
  d.start();
  auto sub2 = supervisor("sub", Strategy::kRestForOne, 3, {worker("a"), worker("b")});
  d.send(ReloadRequested{1, supervisor("root", Strategy::kOneForOne, 5, {sub2})});
  ASSERT_TRUE(last_reply(d).ok);
  EXPECT_TRUE(d.running("sub.b"));
  EXPECT_EQ(d.status().find("children")->as_array()[0].get_string("strategy"), "rest_for_one");
}

TEST(CodeChange, AStoppedChildThatChangedStaysStopped) {
  auto spec = three_workers(Strategy::kOneForOne);
  CoreDriver d(spec);
  d.start();
  d.send(AdminRequested{1, AdminVerb::kStop, "b", 0});
  spec.children[1].process.argv.push_back("--v2");
  d.send(ReloadRequested{2, spec});
  EXPECT_TRUE(last_reply(d).ok);
  EXPECT_FALSE(d.running("b"));
  d.send(AdminRequested{3, AdminVerb::kStart, "b", 0});
  EXPECT_TRUE(d.running("b"));
}

TEST(CodeChange, PolicyChangesApplyWithoutARestart) {
  auto spec = three_workers(Strategy::kOneForOne);
  CoreDriver d(spec);
  d.start();
  const int64_t b = d.pid("b");
  spec.children[1].restart = RestartType::kTemporary;
  spec.children[1].process.shutdown_ms = 10;
  d.send(ReloadRequested{1, spec});
  EXPECT_EQ(to_json(*last_reply(d).result.find("updated")), "[\"b\"]");
  EXPECT_EQ(d.pid("b"), b);
  d.kill("b");
  EXPECT_FALSE(d.running("b"));  // temporary now
}

TEST(CodeChange, NothingChangedAnswersAtOnce) {
  auto spec = three_workers(Strategy::kOneForOne);
  CoreDriver d(spec);
  d.start();
  d.send(ReloadRequested{1, spec});
  EXPECT_TRUE(last_reply(d).ok);
  EXPECT_TRUE(d.signals().empty());
}

// ---- Status -----------------------------------------------------------------------------------

TEST(Status, ShowsTheTreeWithPidsStatesAndLastExits) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5,
                          {worker("a"), pool("w", 1),
                           supervisor("sub", Strategy::kOneForOne, 1, {worker("x")})}));
  d.start();
  d.clock().advance(milliseconds(250));
  d.kill("a");
  const Value s = d.status();
  EXPECT_EQ(s.get_string("name"), "root");
  EXPECT_EQ(s.get_string("state"), "running");
  const auto& kids = s.find("children")->as_array();
  ASSERT_EQ(kids.size(), 3u);
  EXPECT_EQ(kids[0].get_string("type"), "worker");
  EXPECT_EQ(kids[0].get_int("pid"), d.pid("a"));
  EXPECT_EQ(kids[0].get_int("restarts"), 1);
  EXPECT_EQ(kids[0].find("last_exit")->get_int("signal"), SIGKILL);
  EXPECT_EQ(kids[1].get_string("type"), "pool");
  EXPECT_EQ(kids[1].find("children")->as_array()[0].get_string("name"), "w.1");
  EXPECT_TRUE(kids[1].find("children")->as_array()[0].find("last_exit")->is_null());
  EXPECT_EQ(kids[2].find("children")->as_array()[0].get_string("name"), "sub.x");
  EXPECT_EQ(kids[2].get_int("uptime_ms"), 250);
}

}  // namespace
}  // namespace pl::supervisor
