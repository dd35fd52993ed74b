// The RunStore contract, checked against both implementations.
#include "broker/run_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/sqlite/database.h"
#include "tests/support/harness.h"

namespace pl::broker {
namespace {

struct StoreCase {
  std::string name;
  std::function<std::unique_ptr<RunStore>(const std::filesystem::path&)> open;
};

// Test listings name the store rather than dumping the struct's bytes.
void PrintTo(const StoreCase& c, std::ostream* os) { *os << c.name; }

class RunStoreTest : public ::testing::TestWithParam<StoreCase> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pl-store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store_ = GetParam().open(dir_ / "broker.db");
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  static StoredRun run(const std::string& id, int64_t created) {
    StoredRun r;
    r.id = id;
    r.pipeline_name = "p";
    r.pipeline_path = "/p.yaml";
    r.pipeline_yaml = "workflow: {}";
    r.inputs = Value::object();
    r.state = "running";
    r.created_ms = created;
    return r;
  }
  std::set<std::string> ids_of(const std::string& run_id) {
    std::set<std::string> ids;
    auto results = store_->item_results(run_id);
    EXPECT_TRUE(results.ok());
    if (results.ok()) {
      for (const auto& [id, value] : *results) ids.insert(id);
    }
    return ids;
  }
  static Value result(bool success) {
    Value v;
    v["success"] = success;
    return v;
  }
  static Value numbered(bool success, int64_t n) {
    Value v = result(success);
    v["n"] = n;
    return v;
  }
  // Each stored result's "n", by item id.
  std::map<std::string, int64_t> numbers_of(const std::string& run_id) {
    std::map<std::string, int64_t> numbers;
    auto results = store_->item_results(run_id);
    EXPECT_TRUE(results.ok());
    if (results.ok()) {
      for (const auto& [id, value] : *results) numbers[id] = value.get_int("n");
    }
    return numbers;
  }

  std::filesystem::path dir_;
  std::unique_ptr<RunStore> store_;
};

TEST_P(RunStoreTest, ItemResultsBelongToTheirRunByIdPrefix) {
  ASSERT_TRUE(store_->put_run(run("run-a", 1)).ok());
  ASSERT_TRUE(store_->put_run(run("run-a2", 2)).ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s0", result(true)).ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s1.i0.s0", result(false)).ok());
  ASSERT_TRUE(store_->put_item_result("run-a2", "run-a2/s0", result(true)).ok());
  ASSERT_TRUE(store_->commit().ok());
  EXPECT_EQ(*store_->item_count("run-a"), 2u);
  EXPECT_EQ(*store_->item_count("run-a2"), 1u);
  EXPECT_EQ(ids_of("run-a"), (std::set<std::string>{"run-a/s0", "run-a/s1.i0.s0"}));
  EXPECT_EQ(ids_of("run-a2"), (std::set<std::string>{"run-a2/s0"}));
}

TEST_P(RunStoreTest, DroppingFailedItemsKeepsSuccessesAndOtherRuns) {
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s0", result(true)).ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s1", result(false)).ok());
  ASSERT_TRUE(store_->put_item_result("run-b", "run-b/s0", result(false)).ok());
  ASSERT_TRUE(store_->drop_failed_items("run-a").ok());
  ASSERT_TRUE(store_->commit().ok());
  EXPECT_EQ(ids_of("run-a"), (std::set<std::string>{"run-a/s0"}));
  EXPECT_EQ(ids_of("run-b"), (std::set<std::string>{"run-b/s0"}));
}

TEST_P(RunStoreTest, DroppingFailedItemsOverSeveralBatchesKeepsExactlyTheSuccesses) {
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s0", numbered(true, 0)).ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s1", numbered(false, 1)).ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s2", numbered(true, 2)).ok());
  ASSERT_TRUE(store_->commit().ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s3", numbered(false, 3)).ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s4", numbered(false, 4)).ok());
  ASSERT_TRUE(store_->put_item_result("run-b", "run-b/s0", numbered(false, 0)).ok());
  ASSERT_TRUE(store_->commit().ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s5", numbered(true, 5)).ok());
  ASSERT_TRUE(store_->commit().ok());

  ASSERT_TRUE(store_->drop_failed_items("run-a").ok());
  ASSERT_TRUE(store_->commit().ok());
  EXPECT_EQ(numbers_of("run-a"), (std::map<std::string, int64_t>{
                                     {"run-a/s0", 0}, {"run-a/s2", 2}, {"run-a/s5", 5}}));
  EXPECT_EQ(*store_->item_count("run-a"), 3u);
  EXPECT_EQ(*store_->item_count("run-b"), 1u);

  // The resumed run records on, after what was kept.
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/t0", numbered(true, 10)).ok());
  ASSERT_TRUE(store_->commit().ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/t1", numbered(false, 11)).ok());
  ASSERT_TRUE(store_->commit().ok());
  std::vector<std::string> visited;
  ASSERT_TRUE(
      store_->for_each_item_result("run-a", [&](std::string id, Value) { visited.push_back(id); })
          .ok());
  EXPECT_EQ(visited, (std::vector<std::string>{"run-a/s0", "run-a/s2", "run-a/s5", "run-a/t0",
                                               "run-a/t1"}));
  EXPECT_EQ(*store_->item_count("run-a"), 5u);
}

TEST_P(RunStoreTest, AFailedItemThatLaterSucceededKeepsItsSuccessWhenFailuresAreDropped) {
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s0", numbered(false, 0)).ok());
  ASSERT_TRUE(store_->commit().ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s0", numbered(true, 1)).ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s1", numbered(false, 2)).ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s1", numbered(true, 3)).ok());  // one batch
  ASSERT_TRUE(store_->commit().ok());
  ASSERT_TRUE(store_->drop_failed_items("run-a").ok());
  ASSERT_TRUE(store_->commit().ok());
  std::map<std::string, int64_t> seen;  // as the broker's memo applies them
  ASSERT_TRUE(store_->for_each_item_result("run-a", [&](std::string id, Value r) {
                      EXPECT_TRUE(r.get_bool("success")) << id;
                      seen.insert_or_assign(std::move(id), r.get_int("n"));
                    })
                  .ok());
  EXPECT_EQ(seen, (std::map<std::string, int64_t>{{"run-a/s0", 1}, {"run-a/s1", 3}}));
  EXPECT_EQ(*store_->item_count("run-a"), 2u);
}

TEST_P(RunStoreTest, ItemResultsAreVisitedOneByOneAndTheLastRecordOfAnItemWins) {
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s0", result(false)).ok());
  ASSERT_TRUE(store_->commit().ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s1", result(true)).ok());
  ASSERT_TRUE(store_->put_item_result("run-b", "run-b/s0", result(true)).ok());
  ASSERT_TRUE(store_->commit().ok());
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/s0", result(true)).ok());  // not committed
  std::map<std::string, bool> seen;  // as the broker's memo applies them
  auto remember = [&](std::string id, Value r) {
    seen.insert_or_assign(std::move(id), r.get_bool("success"));
  };
  ASSERT_TRUE(store_->for_each_item_result("run-a", remember).ok());
  EXPECT_EQ(seen, (std::map<std::string, bool>{{"run-a/s0", true}, {"run-a/s1", true}}));
}

TEST_P(RunStoreTest, RunsAreListedNewestFirstAndUnfinishedOnesFound) {
  ASSERT_TRUE(store_->put_run(run("run-1", 10)).ok());
  ASSERT_TRUE(store_->put_run(run("run-2", 20)).ok());
  ASSERT_TRUE(store_->finish_run("run-1", "succeeded", result(true), "", 30).ok());
  ASSERT_TRUE(store_->commit().ok());
  auto list = store_->list_runs(10);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "run-2");
  auto unfinished = store_->unfinished_runs();
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].id, "run-2");
  EXPECT_EQ(store_->list_runs(1)->size(), 1u);
}

TEST_P(RunStoreTest, ReopenedRunIsRunningAgain) {
  ASSERT_TRUE(store_->put_run(run("run-1", 10)).ok());
  ASSERT_TRUE(store_->finish_run("run-1", "failed", result(false), "boom", 30).ok());
  ASSERT_TRUE(store_->reopen_run("run-1").ok());
  ASSERT_TRUE(store_->commit().ok());
  auto got = store_->get_run("run-1");
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->state, "running");
  EXPECT_EQ((*got)->error, "");
}

TEST_P(RunStoreTest, DeadLettersAreKeptPerRun) {
  ASSERT_TRUE(store_->put_dead_letter({"run-1/s0", "run-1", "a", 3, "boom", 5}).ok());
  ASSERT_TRUE(store_->put_dead_letter({"run-2/s0", "run-2", "b", 1, "bang", 6}).ok());
  ASSERT_TRUE(store_->commit().ok());
  auto letters = store_->dead_letters("run-1");
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].error, "boom");
  EXPECT_EQ((*letters)[0].attempts, 3);
}

TEST(SqliteRunStore, CommittedWritesSurviveReopening) {
  char tmpl[] = "/tmp/pl-store-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::filesystem::path db = std::filesystem::path(tmpl) / "broker.db";
  {
    auto store = open_sqlite_run_store(db.string());
    ASSERT_TRUE(store.ok());
    StoredRun r;
    r.id = "run-1";
    r.pipeline_name = "p";
    r.pipeline_path = "/p.yaml";
    r.pipeline_yaml = "x";
    r.inputs = Value::object();
    r.state = "running";
    ASSERT_TRUE((*store)->put_run(r).ok());
    Value v;
    v["success"] = true;
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s0", v).ok());
    ASSERT_TRUE((*store)->commit().ok());
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s1", v).ok());  // never committed
  }
  auto store = open_sqlite_run_store(db.string());
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->unfinished_runs()->size(), 1u);
  auto results = (*store)->item_results("run-1");
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].first, "run-1/s0");
  // A recovered run goes on recording: its next batch follows the ones on file.
  ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s2", Value(Value::Object{{"success", true}})).ok());
  ASSERT_TRUE((*store)->commit().ok());
  results = (*store)->item_results("run-1");
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[1].first, "run-1/s2");
  std::filesystem::remove_all(tmpl);
}

StoredRun minimal_run(const std::string& id) {
  StoredRun r;
  r.id = id;
  r.pipeline_name = "p";
  r.pipeline_path = "/p.yaml";
  r.pipeline_yaml = "x";
  r.inputs = Value::object();
  r.state = "running";
  return r;
}

TEST(SqliteRunStore, ASecondBrokerOnTheSameFileIsRefused) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  auto first = open_sqlite_run_store(db);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = open_sqlite_run_store(db);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("broker.db"), std::string::npos) << second.error().message;
  EXPECT_NE(second.error().message.find("locked"), std::string::npos) << second.error().message;
}

TEST(SqliteRunStore, ADeferredSyncCountsTheCommitsThatWroteAndSyncsThem) {
  test::TempDir dir;
  auto store = open_sqlite_run_store((dir.path() / "broker.db").string());
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE((*store)->commit_is_durable());
  const uint64_t before = (*store)->commits();
  ASSERT_TRUE((*store)->commit().ok());  // nothing written: no new generation
  EXPECT_EQ((*store)->commits(), before);
  ASSERT_TRUE((*store)->put_run(minimal_run("run-1")).ok());
  ASSERT_TRUE((*store)->commit().ok());
  EXPECT_EQ((*store)->commits(), before + 1);
  EXPECT_TRUE((*store)->sync().ok());
}

TEST(SqliteRunStore, WithoutADeferredSyncEachCommitIsDurableByItself) {
  test::TempDir dir;
  for (const bool full : {true, false}) {
    SqliteRunStoreOptions options;
    options.full_sync = full;
    options.deferred_sync = false;
    const std::string db = (dir.path() / (full ? "full.db" : "normal.db")).string();
    {
      auto store = open_sqlite_run_store(db, options);
      ASSERT_TRUE(store.ok()) << store.error().message;
      EXPECT_TRUE((*store)->commit_is_durable());
      ASSERT_TRUE((*store)->put_run(minimal_run("run-1")).ok());
      ASSERT_TRUE((*store)->commit().ok());
    }
    auto reopened = open_sqlite_run_store(db, options);
    ASSERT_TRUE(reopened.ok());
    EXPECT_EQ((*reopened)->unfinished_runs()->size(), 1u);
  }
}

TEST(SqliteRunStore, ResultRowsOfOlderVersionsAreMovedIntoBatchesOnOpen) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  {
    auto raw = sqlite::Database::open(db);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->exec("CREATE TABLE items (item_id TEXT PRIMARY KEY, success INTEGER NOT NULL, "
                             "result BLOB NOT NULL) WITHOUT ROWID;"
                             "INSERT INTO items VALUES ('run-1/s0', 1, '{\"success\": true, \"data\": 3}');"
                             "INSERT INTO items VALUES ('run-2/s0', 0, '{\"success\": false}')")
                    .ok());
  }
  {
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto one = (*store)->item_results("run-1");
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ((*one)[0].second.get_int("data"), 3);
    EXPECT_EQ(*(*store)->item_count("run-2"), 1u);
  }
  auto raw = sqlite::Database::open(db);
  EXPECT_EQ(*(*raw)->query_text("SELECT COUNT(*) FROM sqlite_master WHERE name='items'"), "0");
}

TEST(SqliteRunStore, AnUnreadableBatchIsAnErrorNamingTheRun) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  {
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s0", Value(Value::Object{{"success", true}})).ok());
    ASSERT_TRUE((*store)->commit().ok());
  }
  {
    auto raw = sqlite::Database::open(db);
    ASSERT_TRUE((*raw)->exec("UPDATE item_batches SET items = X'92c1'").ok());
  }
  auto store = open_sqlite_run_store(db);
  ASSERT_TRUE(store.ok());
  auto broken = (*store)->item_results("run-1");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("run-1"), std::string::npos) << broken.error().message;
}

TEST(SqliteRunStore, DroppingFailedItemsRewritesOnlyTheBatchesThatHeldFailures) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  {
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok());
    // Each turn's successes, one batch per turn.
    const std::vector<std::vector<bool>> turns = {{true, false, true}, {false, false},
                                                  {true, true}, {false, true}};
    int item = 0;
    for (const auto& turn : turns) {
      for (const bool success : turn) {
        const std::string id = "run-1/s" + std::to_string(item++);
        const Value result(Value::Object{{"success", success}});
        ASSERT_TRUE((*store)->put_item_result("run-1", id, result).ok());
      }
      ASSERT_TRUE((*store)->commit().ok());
    }
    ASSERT_TRUE((*store)->drop_failed_items("run-1").ok());
    const Value ok(Value::Object{{"success", true}});
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/t0", ok).ok());
    ASSERT_TRUE((*store)->commit().ok());
  }
  auto raw = sqlite::Database::open(db);
  // seq:count: batch 1 (only failures) is gone, batch 2 untouched, the new batch 4 last.
  EXPECT_EQ(*(*raw)->query_text("SELECT group_concat(seq || ':' || count) FROM (SELECT seq, count "
                                "FROM item_batches WHERE run_id='run-1' ORDER BY seq)"),
            "0:2,2:2,3:1,4:1");
}

TEST(SqliteRunStore, DroppingFailedItemsOfAnUnreadableBatchIsAnErrorNamingTheRunAndBatch) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  {
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok());
    const Value failed(Value::Object{{"success", false}});
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s0", failed).ok());
    ASSERT_TRUE((*store)->commit().ok());
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s1", failed).ok());
    ASSERT_TRUE((*store)->commit().ok());
  }
  {
    auto raw = sqlite::Database::open(db);
    ASSERT_TRUE((*raw)->exec("UPDATE item_batches SET items = X'92c1' WHERE seq = 1").ok());
  }
  auto store = open_sqlite_run_store(db);
  ASSERT_TRUE(store.ok());
  const Status dropped = (*store)->drop_failed_items("run-1");
  ASSERT_FALSE(dropped.ok());
  EXPECT_NE(dropped.error().message.find("run-1 (batch 1)"), std::string::npos)
      << dropped.error().message;
}

TEST(SqliteRunStore, ResultsPutInOneTurnAreOneBatchAndReadableBeforeTheCommit) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  auto store = open_sqlite_run_store(db);
  ASSERT_TRUE(store.ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s" + std::to_string(i), Value(Value::Object{{"success", true}})).ok());
  }
  EXPECT_EQ(*(*store)->item_count("run-1"), 3u);  // this connection sees its open transaction
  ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s3", Value(Value::Object{{"success", false}})).ok());
  ASSERT_TRUE((*store)->commit().ok());
  ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s4", Value(Value::Object{{"success", true}})).ok());
  ASSERT_TRUE((*store)->commit().ok());
  store->reset();
  auto raw = sqlite::Database::open(db);
  EXPECT_EQ(*(*raw)->query_text("SELECT group_concat(count) FROM item_batches WHERE run_id='run-1'"), "3,1,1");
}

INSTANTIATE_TEST_SUITE_P(
    Stores, RunStoreTest,
    ::testing::Values(StoreCase{"memory", [](const std::filesystem::path&) { return make_memory_run_store(); }},
                      StoreCase{"sqlite",
                                [](const std::filesystem::path& p) {
                                  auto s = open_sqlite_run_store(p.string());
                                  return s.ok() ? std::move(*s) : nullptr;
                                }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace pl::broker
