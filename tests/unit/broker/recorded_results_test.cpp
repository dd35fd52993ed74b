// RecordedResults, the memo of a recovered or resumed run, over both stores: every item's latest
// record comes back once, whatever the order it is asked in, as the store's own decoding gives
// it; and a batch that no longer parses costs only the items it held.
#include "broker/recorded_results.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "common/sqlite/database.h"
#include "tests/support/harness.h"
#include "tests/unit/broker/store_cases.h"

namespace pl::broker {
namespace {

class RecordedResultsTest : public ::testing::TestWithParam<StoreCase> {
 protected:
  void SetUp() override {
    store_ = GetParam().open(dir_.path() / "broker.db");
    ASSERT_NE(store_, nullptr);
  }
  // `batches` commits of `per_batch` results each, for items i0, i1, ...; then a second record
  // of every fifth item, later and with another "n".
  void record(int batches, int per_batch) {
    int n = 0;
    for (int b = 0; b < batches; ++b) {
      for (int i = 0; i < per_batch; ++i, ++n) put(n, n);
      ASSERT_TRUE(store_->commit().ok());
    }
    for (int i = 0; i < n; i += 5) put(i, 1000 + i);
    ASSERT_TRUE(store_->commit().ok());
    items_ = n;
  }
  void put(int item, int n) {
    Value v;
    v["success"] = true;
    v["n"] = n;
    v["text"] = std::string(static_cast<size_t>(item % 40), 'x');
    ASSERT_TRUE(store_->put_item_result("run-1", id(item), v).ok());
  }
  static std::string id(int item) { return "run-1/s0.i" + std::to_string(item) + ".s0"; }

  test::TempDir dir_;
  std::unique_ptr<RunStore> store_;
  int items_ = 0;
};

TEST_P(RecordedResultsTest, EachItemsLatestRecordComesBackOnceInAnyOrder) {
  record(30, 7);  // more batches than are kept in memory at once (in the sqlite store)
  std::map<std::string, Value> expected;  // what the store's own decoding says, the last record winning
  ASSERT_TRUE(for_each_item_result(*store_, "run-1", [&](std::string item_id, Value result) {
                      expected.insert_or_assign(std::move(item_id), std::move(result));
                    })
                  .ok());
  ASSERT_EQ(expected.size(), static_cast<size_t>(items_));

  size_t indexed = 0;
  auto memo = RecordedResults::index(*store_, "run-1", [&] { ++indexed; });
  ASSERT_TRUE(memo.ok()) << memo.error().message;
  EXPECT_EQ(memo->size(), indexed);
  // Every record: the sqlite store keeps an item's earlier record beside its later one, the
  // memory store replaces it.
  EXPECT_GE(indexed, static_cast<size_t>(items_));
  EXPECT_LE(indexed, static_cast<size_t>(items_ + (items_ + 4) / 5));
  EXPECT_EQ(memo->problem(), "");

  std::vector<int> order(static_cast<size_t>(items_));
  for (int i = 0; i < items_; ++i) order[static_cast<size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(3));
  for (int item : order) {
    auto result = memo->take(id(item));
    ASSERT_TRUE(result.has_value()) << id(item);
    EXPECT_EQ(*result, expected.at(id(item))) << id(item);
    EXPECT_EQ(result->get_int("n"), item % 5 == 0 ? 1000 + item : item);
    EXPECT_FALSE(memo->take(id(item)).has_value()) << "given twice: " << id(item);
  }
  EXPECT_FALSE(memo->take("run-1/s0.i99999.s0").has_value());
  EXPECT_FALSE(memo->take("run-2/s0.i1.s0").has_value());
  EXPECT_EQ(memo->problem(), "");
}

TEST_P(RecordedResultsTest, ARunWithoutRecordsHasAnEmptyMemo) {
  auto memo = RecordedResults::index(*store_, "run-1", [] {});
  ASSERT_TRUE(memo.ok());
  EXPECT_EQ(memo->size(), 0u);
  EXPECT_FALSE(memo->take(id(0)).has_value());
}

INSTANTIATE_TEST_SUITE_P(Stores, RecordedResultsTest, all_stores(), store_name);

TEST(RecordedResults, ABatchThatNoLongerParsesCostsOnlyTheItemsItHeld) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  {
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok());
    for (int batch = 0; batch < 3; ++batch) {
      for (int i = 0; i < 2; ++i) {
        Value v;
        v["success"] = true;
        ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/i" + std::to_string(batch * 2 + i), v)
                        .ok());
      }
      ASSERT_TRUE((*store)->commit().ok());
    }
  }
  {
    // The second batch's second record is cut short: its first record is still readable.
    auto raw = sqlite::Database::open(db);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->exec("UPDATE item_batches SET items = substr(items, 1, length(items) - 3) "
                             "WHERE seq = 1").ok());
  }
  auto store = open_sqlite_run_store(db);
  ASSERT_TRUE(store.ok());
  auto memo = RecordedResults::index(**store, "run-1", [] {});
  ASSERT_TRUE(memo.ok());
  EXPECT_NE(memo->problem().find("unreadable item results of run-1 (batch 1, record at byte"),
            std::string::npos)
      << memo->problem();
  EXPECT_EQ(memo->size(), 5u);
  for (int i : {0, 1, 2, 4, 5}) {
    EXPECT_TRUE(memo->take("run-1/i" + std::to_string(i)).has_value()) << i;
  }
  EXPECT_FALSE(memo->take("run-1/i3").has_value());  // runs again
}

}  // namespace
}  // namespace pl::broker
