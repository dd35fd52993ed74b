// RunCoordinator::recover over a store holding a run's recorded results: nothing recorded runs
// again, and a long recovery reports its progress (what the broker turns into requests for more
// time to become ready).
#include <gtest/gtest.h>

#include "broker/run_coordinator.h"
#include "common/json.h"
#include "common/protocol/envelope.h"
#include "common/protocol/work.h"

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

// Records the echo results of loop items 0 .. count-1 of run-1, committed.
void record_echoes(RunStore& store, int count) {
  for (int x = 0; x < count; ++x) {
    ASSERT_TRUE(store.put_item_result("run-1", "run-1/s0.i" + std::to_string(x) + ".s0", echoed(x))
                    .ok());
  }
  ASSERT_TRUE(store.commit().ok());
}

Instant at(int64_t ms) {
  return Instant{TimePoint(std::chrono::milliseconds(ms)),
                 std::chrono::system_clock::time_point(std::chrono::milliseconds(ms))};
}

TEST(RunRecovery, ALongRecoveryReportsItsProgressAndRunsNothingRecordedAgain) {
  auto store = make_memory_run_store();
  ASSERT_TRUE(store->put_run(running_loop()).ok());
  record_echoes(*store, 10);

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
  record_echoes(*store, 10);
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
  // Counted as resumed, so that accepted + recovered + resumed = finished + running.
  EXPECT_EQ(coordinator.counters().resumed, 1u);
  EXPECT_EQ(coordinator.counters().accepted, 0u);
  EXPECT_EQ(coordinator.counters().succeeded, 1u);
}

TEST(RunRecovery, ARecordMadeForAnotherInputIsNotReplayedAndIsCounted) {
  auto store = make_memory_run_store();
  StoredRun stored = running_loop();
  stored.state = "failed";
  ASSERT_TRUE(store->put_run(stored).ok());
  // Items 0-4 recorded before digests existed; 5-9 recorded for some other input.
  for (int x = 0; x < 10; ++x) {
    Value result = echoed(x);
    if (x >= 5) result[std::string(kInputDigestKey)] = "0123456789abcdef";
    ASSERT_TRUE(store->put_item_result("run-1", "run-1/s0.i" + std::to_string(x) + ".s0", result).ok());
  }
  ASSERT_TRUE(store->commit().ok());
  Dispatcher dispatcher(DispatchConfig{}, 1);
  RunCoordinator coordinator(dispatcher, *store, RunSettings{});

  ASSERT_TRUE(coordinator.resume("run-1", at(1000)).ok());
  for (int turn = 1; turn < 10; ++turn) coordinator.on_tick(at(1000 + turn));
  const RunRecord* run = coordinator.find("run-1");
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(run->execution);
  // 0-4 replayed; 5-8 dispatched (max_parallel 4) and waiting for a worker; 9 not started.
  EXPECT_EQ(run->state, RunState::kRunning);
  EXPECT_EQ(run->execution->progress().replayed, 5u);
  EXPECT_EQ(run->execution->progress().inputs_changed, 4u);
  EXPECT_EQ(dispatcher.outstanding(), 4u);
}

TEST(RunRecovery, ARecoveredRunReplaysAfterRecoverReturnsAndAdoptsWhatAWorkerFinishedMeanwhile) {
  auto store = make_memory_run_store();
  ASSERT_TRUE(store->put_run(running_loop()).ok());
  record_echoes(*store, 8);  // 8 and 9 were in flight when the broker stopped
  Dispatcher dispatcher(DispatchConfig{}, 1);
  RunSettings settings;
  settings.replay_per_turn = 2;
  RunCoordinator coordinator(dispatcher, *store, settings);
  ASSERT_EQ(*coordinator.recover(at(1000)), 1u);
  // recover() returned with most of the replay still to come: the broker is ready meanwhile.
  EXPECT_LT(coordinator.find("run-1")->execution->progress().replayed, 8u);
  EXPECT_TRUE(dispatcher.replaying());

  // A worker comes back with item 8's result, before the replay has reached item 8.
  const TimePoint now = at(1000).steady;
  dispatcher.on_worker_message(
      "w1",
      protocol::Message{protocol::MessageType::kWorkerHello,
                        protocol::to_body(protocol::WorkerHello{"w1", 1, "", 4, Value::array()})},
      now);
  dispatcher.on_work_result("w1", protocol::WorkResult{"run-1/s0.i8.s0", 1, echoed(8)}, now);

  for (int turn = 1; turn < 100 && coordinator.find("run-1")->state == RunState::kRunning; ++turn) {
    const Instant when = at(1000 + turn);
    coordinator.on_tick(when);
    dispatcher.on_tick(when.steady);
    coordinator.on_completions(dispatcher.take_completions(), when);
    for (const auto& frame : dispatcher.take_outbox()) {  // the worker answers what it is sent
      auto message = protocol::decode(frame.envelope);
      ASSERT_TRUE(message.ok());
      if (message->type != protocol::MessageType::kWorkItem) continue;
      const std::string id = message->body.get_string("id");
      const auto attempt = static_cast<uint32_t>(message->body.get_int("attempt"));
      dispatcher.on_work_result("w1", protocol::WorkResult{id, attempt, echoed(9)}, when.steady);
    }
  }
  EXPECT_EQ(coordinator.find("run-1")->state, RunState::kSucceeded);
  EXPECT_EQ(dispatcher.counters().adopted, 1u);     // item 8, not run again
  EXPECT_EQ(dispatcher.counters().dispatched, 1u);  // item 9 only
  EXPECT_EQ(dispatcher.counters().stale_results, 0u);
  EXPECT_FALSE(dispatcher.replaying());
  EXPECT_EQ(*store->item_count("run-1"), 10u);
}

TEST(RunRecovery, ACancelledRunKeepsTheUsageOfWhatFinishedBeforeTheCancel) {
  auto store = make_memory_run_store();
  ASSERT_TRUE(store->put_run(running_loop()).ok());
  for (int x = 0; x < 5; ++x) {  // half the loop done, each item a paid call
    Value result = echoed(x);
    result["usage"]["input_tokens"] = 10;
    result["usage"]["output_tokens"] = 3;
    result["usage"]["cost_usd"] = 0.5;
    ASSERT_TRUE(
        store->put_item_result("run-1", "run-1/s0.i" + std::to_string(x) + ".s0", result).ok());
  }
  ASSERT_TRUE(store->commit().ok());
  Dispatcher dispatcher(DispatchConfig{}, 1);
  RunCoordinator coordinator(dispatcher, *store, RunSettings{});
  ASSERT_TRUE(coordinator.recover(at(1000)).ok());
  ASSERT_EQ(coordinator.find("run-1")->state, RunState::kRunning);

  ASSERT_TRUE(coordinator.cancel("run-1", at(2000)).ok());
  for (const Value& result :
       {coordinator.find("run-1")->result, (*store->get_run("run-1"))->result}) {
    EXPECT_FALSE(result.get_bool("success"));
    EXPECT_EQ(result.get_string("error"), "cancelled");
    const Value* usage = result.find("usage");
    ASSERT_NE(usage, nullptr) << to_json(result);
    EXPECT_EQ(usage->get_int("input_tokens"), 50);
    EXPECT_EQ(usage->get_int("output_tokens"), 15);
    EXPECT_DOUBLE_EQ(usage->find("cost_usd")->as_double(), 2.5);
  }
}

TEST(RunRecovery, ACancelSentAgainSucceedsAndChangesNothingWhereACancelAfterSuccessIsRefused) {
  auto store = make_memory_run_store();
  StoredRun stored = running_loop();
  ASSERT_TRUE(store->put_run(stored).ok());
  stored.id = "run-2";
  ASSERT_TRUE(store->put_run(stored).ok());
  record_echoes(*store, 10);  // run-1 has every result: it succeeds; run-2 stays running
  {
    Dispatcher dispatcher(DispatchConfig{}, 1);
    RunCoordinator coordinator(dispatcher, *store, RunSettings{});
    ASSERT_TRUE(coordinator.recover(at(1000)).ok());
    ASSERT_TRUE(coordinator.cancel("run-2", at(2000)).ok());
    const int64_t finished_ms = coordinator.find("run-2")->finished_ms;
    ASSERT_TRUE(coordinator.cancel("run-2", at(3000)).ok());  // its reply was lost, say
    EXPECT_EQ(coordinator.find("run-2")->state, RunState::kCancelled);
    EXPECT_EQ(coordinator.find("run-2")->finished_ms, finished_ms);
    EXPECT_EQ(coordinator.counters().cancelled, 1u);

    auto refused = coordinator.cancel("run-1", at(3000));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
    EXPECT_EQ(refused.error().message, "run run-1 is already succeeded");
  }
  // A broker started again knows the cancelled run from its store only.
  Dispatcher dispatcher(DispatchConfig{}, 1);
  RunCoordinator coordinator(dispatcher, *store, RunSettings{});
  ASSERT_TRUE(coordinator.recover(at(4000)).ok());
  EXPECT_TRUE(coordinator.cancel("run-2", at(5000)).ok());
  EXPECT_EQ((*store->get_run("run-2"))->state, "cancelled");
  EXPECT_EQ(coordinator.cancel("run-3", at(5000)).error().code, ErrorCode::kNotFound);
}

TEST(RunRecovery, AFinishedRunCanBeDeletedARunningOneCannot) {
  auto store = make_memory_run_store();
  StoredRun stored = running_loop();
  ASSERT_TRUE(store->put_run(stored).ok());
  stored.id = "run-2";
  ASSERT_TRUE(store->put_run(stored).ok());
  record_echoes(*store, 10);  // run-1 has every result, run-2 none: it stays running
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

// Passes at run time (the step reading what a loop's result cannot have is skipped), fails
// today's validation: what a run accepted by an older broker may look like after an upgrade.
const std::string kAcceptedBeforeStricterChecks =
    std::string(kLoop) +
    "    - {name: never, type: echo, value: \"{{steps.each.text}}\", condition: \"1 > 2\"}\n";

TEST(RunRecovery, ARunAcceptedBeforeAnUpgradeIsRecoveredEvenIfTodaysChecksWouldRefuseIt) {
  auto store = make_memory_run_store();
  StoredRun stored = running_loop();
  stored.pipeline_yaml = kAcceptedBeforeStricterChecks;
  ASSERT_TRUE(store->put_run(stored).ok());
  record_echoes(*store, 10);
  Dispatcher dispatcher(DispatchConfig{}, 1);
  RunCoordinator coordinator(dispatcher, *store, RunSettings{});
  // Submitted today it is refused...
  protocol::SubmitRun submit;
  submit.pipeline_path = stored.pipeline_path;
  submit.pipeline_yaml = stored.pipeline_yaml;
  submit.inputs = Value::object();
  auto refused = coordinator.submit(submit, at(900));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("has no \"text\""), std::string::npos)
      << refused.error().message;
  // ... but the run accepted before goes on, and ends as it would have.
  ASSERT_EQ(*coordinator.recover(at(1000)), 1u);
  ASSERT_NE(coordinator.find("run-1"), nullptr);
  EXPECT_EQ(coordinator.find("run-1")->state, RunState::kSucceeded);
  EXPECT_EQ(dispatcher.counters().dispatched, 0u);
}

TEST(RunRecovery, AResumeThatIsRefusedLeavesTheRunAsItWas) {
  auto store = make_memory_run_store();
  StoredRun stored = running_loop();
  stored.pipeline_path = "/nonexistent-pl-dir/loop.yaml";
  stored.pipeline_yaml = R"(workflow:
  name: loop
  steps:
    - name: each
      type: for_loop
      iterator: x
      items_file: items.jsonl
      steps: [{name: e, type: echo, value: "{{loop.x}}"}]
)";
  stored.state = "failed";
  ASSERT_TRUE(store->put_run(stored).ok());
  Value failed;
  failed["success"] = false;
  failed["error"] = "boom";
  ASSERT_TRUE(store->put_item_result("run-1", "run-1/s0.i0.s0", failed).ok());
  ASSERT_TRUE(store->commit().ok());
  Dispatcher dispatcher(DispatchConfig{}, 1);
  RunCoordinator coordinator(dispatcher, *store, RunSettings{});

  // Its items file is gone: the resume is refused, saying why...
  auto resumed = coordinator.resume("run-1", at(1000));
  ASSERT_FALSE(resumed.ok());
  EXPECT_NE(resumed.error().message.find("items_file \"items.jsonl\" does not exist"),
            std::string::npos)
      << resumed.error().message;
  // ... and nothing changed: still failed, its failed item still on record, nothing running
  // (a restart would otherwise have recovered it as running).
  EXPECT_EQ((*store->get_run("run-1"))->state, "failed");
  EXPECT_EQ(*store->item_count("run-1"), 1u);
  EXPECT_TRUE(store->unfinished_runs()->empty());
  EXPECT_EQ(coordinator.find("run-1"), nullptr);
}

}  // namespace
}  // namespace pl::broker
