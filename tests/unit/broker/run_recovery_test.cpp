// RunCoordinator::recover over a store holding a run's recorded results: nothing recorded runs
// again, and a long recovery reports its progress (what the broker turns into requests for more
// time to become ready).
#include <gtest/gtest.h>

#include "broker/run_coordinator.h"

namespace pl::broker {
namespace {

constexpr const char* kLoop = R"(workflow:
  name: loop
  steps:
    - name: each
      type: for_loop
      iterator: x
      items: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
      parallel: true
      max_parallel: 4
      steps:
        - {name: e, type: echo, value: "{{loop.x}}"}
)";

StoredRun running_loop() {
  StoredRun r;
  r.id = "run-1";
  r.pipeline_name = "loop";
  r.pipeline_path = "/tmp/loop.yaml";
  r.pipeline_yaml = kLoop;
  r.inputs = Value::object();
  r.state = "running";
  return r;
}

Value echoed(int x) {
  Value result;
  result["success"] = true;
  result["text"] = std::to_string(x);
  return result;
}

Instant at(int64_t ms) {
  return Instant{TimePoint(std::chrono::milliseconds(ms)),
                 std::chrono::system_clock::time_point(std::chrono::milliseconds(ms))};
}

TEST(RunRecovery, ALongRecoveryReportsItsProgressAndRunsNothingRecordedAgain) {
  auto store = make_memory_run_store();
  ASSERT_TRUE(store->put_run(running_loop()).ok());
  for (int x = 0; x < 10; ++x) {
    ASSERT_TRUE(store->put_item_result("run-1", "run-1/s0.i" + std::to_string(x) + ".s0", echoed(x))
                    .ok());
  }
  ASSERT_TRUE(store->commit().ok());

  Dispatcher dispatcher(DispatchConfig{}, 1);
  RunCoordinator coordinator(dispatcher, *store, RunSettings{});
  std::vector<std::string> reports;
  coordinator.on_recovery_progress([&](const std::string& s) { reports.push_back(s); }, 4);
  auto recovered = coordinator.recover(at(1000));
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_EQ(*recovered, 1u);

  // 10 read and 10 replayed: a report after every 4.
  EXPECT_EQ(reports, (std::vector<std::string>{
                         "recovering run run-1: 4 recorded item results read, 0 replayed",
                         "recovering run run-1: 8 recorded item results read, 0 replayed",
                         "recovering run run-1: 10 recorded item results read, 2 replayed",
                         "recovering run run-1: 10 recorded item results read, 6 replayed",
                         "recovering run run-1: 10 recorded item results read, 10 replayed"}));
  EXPECT_EQ(dispatcher.counters().dispatched, 0u);
  EXPECT_EQ(dispatcher.outstanding(), 0u);
  const RunRecord* run = coordinator.find("run-1");
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->state, RunState::kSucceeded);

  // Outside recover() (a resume, in the loop) nothing is reported: no supervisor waits then.
  reports.clear();
  ASSERT_TRUE(store->reopen_run("run-1").ok());
  ASSERT_TRUE(coordinator.resume("run-1", at(2000)).ok());
  EXPECT_EQ(coordinator.find("run-1")->state, RunState::kSucceeded);  // replayed, all of it
  EXPECT_EQ(dispatcher.outstanding(), 0u);
  EXPECT_TRUE(reports.empty());
}

TEST(RunRecovery, AResumedRunReplaysABoundedNumberOfResultsPerTurn) {
  auto store = make_memory_run_store();
  StoredRun stored = running_loop();
  stored.state = "failed";
  ASSERT_TRUE(store->put_run(stored).ok());
  for (int x = 0; x < 10; ++x) {
    ASSERT_TRUE(store->put_item_result("run-1", "run-1/s0.i" + std::to_string(x) + ".s0", echoed(x))
                    .ok());
  }
  ASSERT_TRUE(store->commit().ok());
  Dispatcher dispatcher(DispatchConfig{}, 1);
  RunSettings settings;
  settings.replay_per_turn = 3;
  RunCoordinator coordinator(dispatcher, *store, settings);

  ASSERT_TRUE(coordinator.resume("run-1", at(1000)).ok());
  int turns = 1;
  // Each turn replays a few and asks to be called again at once, until the run is done.
  while (coordinator.find("run-1")->state == RunState::kRunning && turns < 100) {
    EXPECT_EQ(coordinator.next_deadline(), TimePoint::min());
    coordinator.on_tick(at(1000 + turns));
    ++turns;
  }
  EXPECT_EQ(coordinator.find("run-1")->state, RunState::kSucceeded);
  EXPECT_GE(turns, 4);  // 10 results, 3 a turn
  EXPECT_EQ(coordinator.next_deadline(), TimePoint::max());
  EXPECT_EQ(dispatcher.counters().dispatched, 0u);
}

TEST(RunRecovery, AFinishedRunCanBeDeletedARunningOneCannot) {
  auto store = make_memory_run_store();
  StoredRun stored = running_loop();
  ASSERT_TRUE(store->put_run(stored).ok());
  stored.id = "run-2";
  ASSERT_TRUE(store->put_run(stored).ok());
  for (int x = 0; x < 10; ++x) {  // run-1 has every result, run-2 none: it stays running
    ASSERT_TRUE(store->put_item_result("run-1", "run-1/s0.i" + std::to_string(x) + ".s0", echoed(x))
                    .ok());
  }
  ASSERT_TRUE(store->commit().ok());
  Dispatcher dispatcher(DispatchConfig{}, 1);
  RunCoordinator coordinator(dispatcher, *store, RunSettings{});
  ASSERT_TRUE(coordinator.recover(at(1000)).ok());
  ASSERT_EQ(coordinator.find("run-1")->state, RunState::kSucceeded);
  ASSERT_EQ(coordinator.find("run-2")->state, RunState::kRunning);

  auto refused = coordinator.delete_run("run-2");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_EQ(refused.error().message, "run run-2 is running; cancel it first");
  EXPECT_TRUE(*store->get_run("run-2"));

  auto deleted = coordinator.delete_run("run-1");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 10u);
  EXPECT_EQ(coordinator.find("run-1"), nullptr);
  EXPECT_FALSE(*store->get_run("run-1"));
  EXPECT_EQ(coordinator.delete_run("run-1").error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace pl::broker
