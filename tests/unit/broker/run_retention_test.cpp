// RunRetention: finished runs older than the retention are deleted a few per turn, never a
// running one, and what deleted runs leave is freed a few batches per turn.
#include "broker/run_retention.h"

#include <gtest/gtest.h>

#include "broker/run_coordinator.h"
#include "tests/unit/broker/store_cases.h"

namespace pl::broker {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kHour = 3600 * 1000;

// Steady and wall clocks both at `ms` (the wall clock as Unix milliseconds).
Instant at(int64_t ms) {
  return Instant{TimePoint(std::chrono::milliseconds(ms)),
                 std::chrono::system_clock::time_point(std::chrono::milliseconds(ms))};
}

StoredRun stored_run(const std::string& id, const std::string& state, int64_t finished_ms) {
  StoredRun r = minimal_run(id);
  r.state = state;
  r.finished_ms = finished_ms;
  return r;
}

class RunRetentionTest : public ::testing::Test {
 protected:
  RunRetentionTest() : coordinator_(dispatcher_, *store_, RunSettings{}) {}

  void put(const std::string& id, const std::string& state, int64_t finished_ms, int results = 0) {
    ASSERT_TRUE(store_->put_run(stored_run(id, state, finished_ms)).ok());
    for (int i = 0; i < results; ++i) {
      ASSERT_TRUE(store_->put_item_result(id, id + "/i" + std::to_string(i), Value()).ok());
    }
    ASSERT_TRUE(store_->commit().ok());
  }
  bool known(const std::string& id) { return store_->get_run(id)->has_value(); }

  std::unique_ptr<RunStore> store_ = make_memory_run_store();
  Dispatcher dispatcher_{DispatchConfig{}, 1};
  RunCoordinator coordinator_;
};

TEST_F(RunRetentionTest, RunsFinishedLongerAgoThanTheRetentionGoAndNoOtherDoes) {
  const int64_t now = 1000 * kHour;
  put("run-old", "succeeded", now - 25 * kHour);
  put("run-failed", "failed", now - 48 * kHour);
  put("run-recent", "succeeded", now - 23 * kHour);
  put("run-running", "running", 0);  // finished_ms 0, and still never expired
  RetentionSettings settings;
  settings.keep_finished = std::chrono::milliseconds(24 * kHour);
  RunRetention retention(coordinator_, settings);

  retention.on_turn(at(now));
  EXPECT_FALSE(known("run-old"));
  EXPECT_FALSE(known("run-failed"));
  EXPECT_TRUE(known("run-recent"));
  EXPECT_TRUE(known("run-running"));
  EXPECT_EQ(retention.counters().runs_expired, 2u);
  // The next look is a minute later; an hour later run-recent is old enough.
  EXPECT_EQ(retention.next_deadline(), at(now).steady + 1min);
  retention.on_turn(at(now + 59'000));
  EXPECT_TRUE(known("run-recent"));
  retention.on_turn(at(now + kHour + 60'000));
  EXPECT_FALSE(known("run-recent"));
  EXPECT_TRUE(known("run-running"));
  EXPECT_EQ(retention.counters().runs_expired, 3u);
}

TEST_F(RunRetentionTest, ManyExpiredRunsGoAFewPerTurnWithTheNextTurnAtOnce) {
  const int64_t now = 1000 * kHour;
  for (int i = 0; i < 5; ++i) put("run-" + std::to_string(i), "succeeded", now - 2 * kHour + i);
  RetentionSettings settings;
  settings.keep_finished = std::chrono::milliseconds(kHour);
  settings.runs_per_turn = 2;
  RunRetention retention(coordinator_, settings);

  retention.on_turn(at(now));
  EXPECT_EQ(retention.counters().runs_expired, 2u);
  EXPECT_FALSE(known("run-0"));  // the oldest first
  EXPECT_FALSE(known("run-1"));
  EXPECT_TRUE(known("run-2"));
  EXPECT_LE(retention.next_deadline(), at(now).steady);
  retention.on_turn(at(now + 1));
  retention.on_turn(at(now + 2));
  EXPECT_EQ(retention.counters().runs_expired, 5u);
  EXPECT_EQ(retention.next_deadline(), at(now + 2).steady + 1min);
}

TEST_F(RunRetentionTest, WhatADeletedRunLeftIsFreedAFewBatchesPerTurn) {
  put("run-1", "succeeded", 5, 10);  // 10 records: 10 batches in the memory store
  RetentionSettings settings;
  settings.keep_finished.reset();  // kept forever: only what is deleted by hand goes
  settings.batches_per_turn = 4;
  RunRetention retention(coordinator_, settings);
  retention.on_turn(at(1000));
  EXPECT_EQ(retention.next_deadline(), TimePoint::max());  // nothing to do, ever

  ASSERT_EQ(*coordinator_.delete_run("run-1"), 10u);
  retention.on_turn(at(1001));  // 4 freed
  EXPECT_LE(retention.next_deadline(), at(1001).steady);
  retention.on_turn(at(1002));  // 8
  EXPECT_LE(retention.next_deadline(), at(1002).steady);
  retention.on_turn(at(1003));  // all 10
  EXPECT_EQ(retention.next_deadline(), TimePoint::max());
  EXPECT_FALSE(*store_->purge_deleted(100));
  EXPECT_EQ(retention.counters().runs_expired, 0u);
}

TEST(RetentionSettings, LooksEveryMinuteOrEveryQuarterOfAShorterRetention) {
  RetentionSettings settings;
  EXPECT_EQ(settings.check_every(), 1min);  // 30 days by default
  settings.keep_finished = std::chrono::milliseconds(2000);
  EXPECT_EQ(settings.check_every(), 500ms);
  settings.keep_finished = std::chrono::milliseconds(1);
  EXPECT_EQ(settings.check_every(), 1ms);
  settings.keep_finished.reset();
  EXPECT_EQ(settings.check_every(), 1min);
}

}  // namespace
}  // namespace pl::broker
