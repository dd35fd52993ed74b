// The RunStore contract, checked against both implementations.
#include "broker/run_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/protocol/envelope.h"
#include "common/sqlite/database.h"
#include "tests/support/harness.h"
#include "tests/unit/broker/store_cases.h"

namespace pl::broker {
namespace {

// Every record of a run, in record order, as for_each_item_result visits them.
Result<std::vector<std::pair<std::string, Value>>> all_records(RunStore& store,
                                                              const std::string& run_id) {
  std::vector<std::pair<std::string, Value>> records;
  Status read = for_each_item_result(
      store, run_id, [&](std::string id, Value result) { records.emplace_back(std::move(id), result); });
  if (!read.ok()) return read.error();
  return records;
}

// The pages of a run from the first to the one without a next (at most 1000 of them).
std::vector<ItemPage> all_pages(RunStore& store, const std::string& run_id,
                                const ItemPageLimits& limits) {
  std::vector<ItemPage> pages;
  for (std::optional<int64_t> cursor = 0; cursor && pages.size() < 1000;) {
    auto page = store.item_results_page(run_id, *cursor, limits);
    EXPECT_TRUE(page.ok()) << page.error().message;
    if (!page.ok()) break;
    if (page->next) {
      EXPECT_GT(*page->next, *cursor);
    }
    cursor = page->next;
    pages.push_back(std::move(*page));
  }
  EXPECT_LT(pages.size(), 1000u) << "the pages never end";
  return pages;
}

size_t packed_size(const std::pair<std::string, Value>& record) {
  std::string packed;
  protocol::append_record(packed, record.first, record.second);
  return packed.size();
}

std::vector<std::string> ids_in(const std::vector<ItemPage>& pages) {
  std::vector<std::string> ids;
  for (const auto& page : pages) {
    for (const auto& record : page.records) ids.push_back(record.first);
  }
  return ids;
}

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
    StoredRun r = minimal_run(id);
    r.pipeline_yaml = "workflow: {}";
    r.created_ms = created;
    return r;
  }
  std::set<std::string> ids_of(const std::string& run_id) {
    std::set<std::string> ids;
    auto results = all_records(*store_, run_id);
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
  // Results of `count` items, each put and committed alone (a batch of one in either store),
  // with payloads of different sizes.
  void record_one_by_one(const std::string& run_id, int count) {
    for (int i = 0; i < count; ++i) {
      Value v = numbered(true, i);
      v["text"] = std::string(static_cast<size_t>(i * 7 % 50), 'x');
      ASSERT_TRUE(store_->put_item_result(run_id, run_id + "/i" + std::to_string(i), v).ok());
      ASSERT_TRUE(store_->commit().ok());
    }
  }
  static std::vector<std::string> item_ids(const std::string& run_id, int count) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) ids.push_back(run_id + "/i" + std::to_string(i));
    return ids;
  }
  static Value numbered(bool success, int64_t n) {
    Value v = result(success);
    v["n"] = n;
    return v;
  }
  // Each stored result's "n", by item id.
  std::map<std::string, int64_t> numbers_of(const std::string& run_id) {
    std::map<std::string, int64_t> numbers;
    auto results = all_records(*store_, run_id);
    EXPECT_TRUE(results.ok());
    if (results.ok()) {  // a later record of an item wins, as in the broker's memo
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
      for_each_item_result(*store_, "run-a", [&](std::string id, Value) { visited.push_back(id); })
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
  ASSERT_TRUE(for_each_item_result(*store_, "run-a", [&](std::string id, Value r) {
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
  ASSERT_TRUE(for_each_item_result(*store_, "run-a", remember).ok());
  EXPECT_EQ(seen, (std::map<std::string, bool>{{"run-a/s0", true}, {"run-a/s1", true}}));
}

TEST_P(RunStoreTest, PagesHoldEveryRecordOnceInRecordOrderAsManyAsTheBytesAllow) {
  record_one_by_one("run-a", 40);
  record_one_by_one("run-b", 3);
  ItemPageLimits limits;
  limits.max_bytes = 300;
  const std::vector<ItemPage> pages = all_pages(*store_, "run-a", limits);
  EXPECT_EQ(ids_in(pages), item_ids("run-a", 40));
  ASSERT_GT(pages.size(), 3u);
  for (size_t i = 0; i < pages.size(); ++i) {
    size_t bytes = 0;
    for (const auto& record : pages[i].records) bytes += packed_size(record);
    EXPECT_EQ(pages[i].bytes, bytes) << "page " << i;
    EXPECT_LE(pages[i].bytes, limits.max_bytes) << "page " << i;
    if (i + 1 < pages.size()) {  // full: the next record would not have fitted
      EXPECT_GT(bytes + packed_size(pages[i + 1].records.front()), limits.max_bytes)
          << "page " << i;
    }
  }
  EXPECT_FALSE(pages.back().next);
}

TEST_P(RunStoreTest, PagesHoldNoMoreItemsThanAllowed) {
  record_one_by_one("run-a", 10);
  ItemPageLimits limits;
  limits.max_items = 3;
  const std::vector<ItemPage> pages = all_pages(*store_, "run-a", limits);
  std::vector<size_t> sizes;
  for (const auto& page : pages) sizes.push_back(page.records.size());
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 3, 1}));
  EXPECT_EQ(ids_in(pages), item_ids("run-a", 10));
}

TEST_P(RunStoreTest, AResultOverTheByteBudgetIsAPageOfItsOwn) {
  const std::vector<std::pair<std::string, size_t>> sizes = {
      {"run-a/small0", 10}, {"run-a/big", 500}, {"run-a/small1", 10}};
  for (const auto& [id, size] : sizes) {
    Value v = result(true);
    v["text"] = std::string(size, 'x');
    ASSERT_TRUE(store_->put_item_result("run-a", id, v).ok());
    ASSERT_TRUE(store_->commit().ok());
  }
  ItemPageLimits limits;
  limits.max_bytes = 100;
  const std::vector<ItemPage> pages = all_pages(*store_, "run-a", limits);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[1].records.size(), 1u);
  EXPECT_GT(pages[1].bytes, limits.max_bytes);
  EXPECT_EQ(ids_in(pages),
            (std::vector<std::string>{"run-a/small0", "run-a/big", "run-a/small1"}));
}

// Big results recorded in one commit (the SQLite store's batch of a commit) still come in pages
// within the byte budget: a batch does not grow past about 1 MiB.
TEST_P(RunStoreTest, BigResultsOfOneCommitStillComeInPagesWithinTheBudget) {
  for (int i = 0; i < 12; ++i) {
    Value v = result(true);
    v["text"] = std::string(500 * 1024, 'x');
    ASSERT_TRUE(store_->put_item_result("run-a", "run-a/i" + std::to_string(i), v).ok());
  }
  ASSERT_TRUE(store_->commit().ok());
  const ItemPageLimits limits;  // 4 MiB
  const std::vector<ItemPage> pages = all_pages(*store_, "run-a", limits);
  ASSERT_GT(pages.size(), 1u);
  for (size_t i = 0; i < pages.size(); ++i) EXPECT_LE(pages[i].bytes, limits.max_bytes) << i;
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) ids.push_back("run-a/i" + std::to_string(i));
  EXPECT_EQ(ids_in(pages), ids);
}

TEST_P(RunStoreTest, AnUnknownRunOrACursorPastTheEndGivesAnEmptyLastPage) {
  record_one_by_one("run-a", 2);
  auto unknown = store_->item_results_page("run-z", 0, ItemPageLimits{});
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->records.empty());
  EXPECT_FALSE(unknown->next);
  auto past = store_->item_results_page("run-a", int64_t{1} << 40, ItemPageLimits{});
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->records.empty());
  EXPECT_FALSE(past->next);
}

TEST_P(RunStoreTest, ResultsRecordedBetweenPagesComeInLaterPages) {
  record_one_by_one("run-a", 4);
  ItemPageLimits limits;
  limits.max_items = 2;
  auto first = store_->item_results_page("run-a", 0, limits);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->next);
  ASSERT_TRUE(store_->put_item_result("run-a", "run-a/late", result(true)).ok());  // uncommitted
  std::vector<ItemPage> pages{*first};
  for (std::optional<int64_t> cursor = first->next; cursor && pages.size() < 10;) {
    auto page = store_->item_results_page("run-a", *cursor, limits);
    ASSERT_TRUE(page.ok());
    cursor = page->next;
    pages.push_back(std::move(*page));
  }
  std::vector<std::string> expected = item_ids("run-a", 4);
  expected.push_back("run-a/late");
  EXPECT_EQ(ids_in(pages), expected);
}

TEST_P(RunStoreTest, RunsAreListedNewestFirstAndUnfinishedOnesFound) {
  ASSERT_TRUE(store_->put_run(run("run-1", 10)).ok());
  ASSERT_TRUE(store_->put_run(run("run-2", 20)).ok());
  ASSERT_TRUE(store_->finish_run("run-1", "succeeded", result(true), "", 30).ok());
  ASSERT_TRUE(store_->commit().ok());
  auto list = store_->list_runs(10, "");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "run-2");
  auto unfinished = store_->unfinished_runs();
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].id, "run-2");
  EXPECT_EQ(store_->list_runs(1, "")->size(), 1u);
}

TEST_P(RunStoreTest, RunsAreListedByStateWithTheLimitCountingOnlyThose) {
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(store_->put_run(run("run-" + std::to_string(i), 10 * i)).ok());
  }
  ASSERT_TRUE(store_->finish_run("run-1", "failed", result(false), "boom", 50).ok());
  ASSERT_TRUE(store_->finish_run("run-3", "failed", result(false), "boom", 50).ok());
  ASSERT_TRUE(store_->finish_run("run-4", "succeeded", result(true), "", 50).ok());
  ASSERT_TRUE(store_->commit().ok());
  auto failed = store_->list_runs(10, "failed");
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 2u);
  EXPECT_EQ((*failed)[0].id, "run-3");  // newest first
  EXPECT_EQ((*failed)[1].id, "run-1");
  // The newest run (run-4) is not failed: a limit of 1 still finds a failed one.
  ASSERT_EQ(store_->list_runs(1, "failed")->size(), 1u);
  EXPECT_EQ((*store_->list_runs(1, "failed"))[0].id, "run-3");
  EXPECT_EQ((*store_->list_runs(10, "running"))[0].id, "run-2");
  EXPECT_TRUE(store_->list_runs(10, "cancelled")->empty());
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

TEST_P(RunStoreTest, ARunIsFoundByItsIdempotencyKeyUntilItIsDeleted) {
  StoredRun keyed = run("run-1", 10);
  keyed.idempotency_key = "job-42";
  ASSERT_TRUE(store_->put_run(keyed).ok());
  ASSERT_TRUE(store_->put_run(run("run-2", 20)).ok());            // no key
  auto before_commit = store_->run_by_idempotency_key("job-42");  // the broker's own turn sees it
  ASSERT_TRUE(before_commit.ok() && before_commit->has_value());
  ASSERT_TRUE(store_->commit().ok());
  auto found = store_->run_by_idempotency_key("job-42");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, "run-1");
  EXPECT_EQ((*found)->idempotency_key, "job-42");
  EXPECT_EQ((*store_->get_run("run-2"))->idempotency_key, "");
  EXPECT_FALSE(store_->run_by_idempotency_key("job-43")->has_value());
  EXPECT_FALSE(store_->run_by_idempotency_key("")->has_value()) << "runs without a key share none";

  ASSERT_TRUE(store_->finish_run("run-1", "succeeded", result(true), "", 30).ok());
  ASSERT_TRUE(store_->commit().ok());
  EXPECT_TRUE(store_->run_by_idempotency_key("job-42")->has_value()) << "kept while the run is";
  ASSERT_TRUE(store_->delete_run("run-1").ok());
  ASSERT_TRUE(store_->commit().ok());
  EXPECT_FALSE(store_->run_by_idempotency_key("job-42")->has_value());
}

TEST_P(RunStoreTest, DroppingFailedItemsDropsTheRunsDeadLettersAndNoOthers) {
  ASSERT_TRUE(store_->put_dead_letter({"run-1/s0", "run-1", "a", 3, "boom", 5}).ok());
  ASSERT_TRUE(store_->put_dead_letter({"run-2/s0", "run-2", "b", 1, "bang", 6}).ok());
  ASSERT_TRUE(store_->commit().ok());
  ASSERT_TRUE(store_->drop_failed_items("run-1").ok());  // run-1 has no item results: still
  ASSERT_TRUE(store_->commit().ok());
  EXPECT_TRUE(store_->dead_letters("run-1")->empty());
  EXPECT_EQ(store_->dead_letters("run-2")->size(), 1u);
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
    ASSERT_TRUE((*store)->put_run(minimal_run("run-1")).ok());
    Value v;
    v["success"] = true;
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s0", v).ok());
    ASSERT_TRUE((*store)->commit().ok());
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s1", v).ok());  // never committed
  }
  auto store = open_sqlite_run_store(db.string());
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->unfinished_runs()->size(), 1u);
  auto results = all_records(**store, "run-1");
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].first, "run-1/s0");
  // A recovered run goes on recording: its next batch follows the ones on file.
  ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s2", Value(Value::Object{{"success", true}})).ok());
  ASSERT_TRUE((*store)->commit().ok());
  results = all_records(**store, "run-1");
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[1].first, "run-1/s2");
  std::filesystem::remove_all(tmpl);
}

TEST(SqliteRunStore, AFailedWriteFailsItsCommitAndNothingOfThatCommitIsKept) {
  char tmpl[] = "/tmp/pl-store-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::filesystem::path db = std::filesystem::path(tmpl) / "broker.db";
  StoredRun too_big = minimal_run("run-3");
  too_big.pipeline_yaml = std::string(1 << 20, 'y');
  {
    SqliteRunStoreOptions options;
    options.max_pages = 64;  // 256 KiB: as if the disk were that full
    auto store = open_sqlite_run_store(db.string(), options);
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->put_run(minimal_run("run-1")).ok());
    ASSERT_TRUE((*store)->commit().ok());
    // One turn: a small write that fits, one that does not, then another small one.
    ASSERT_TRUE((*store)->put_run(minimal_run("run-2")).ok());
    const Status big = (*store)->put_run(too_big);
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.error().message.find("full"), std::string::npos) << big.error().message;
    EXPECT_FALSE((*store)->finish_run("run-1", "succeeded", Value::object(), "", 1).ok())
        << "a write after the failed one is refused";
    const Status committed = (*store)->commit();
    ASSERT_FALSE(committed.ok());
    EXPECT_NE(committed.error().message.find("a write of this commit failed"), std::string::npos)
        << committed.error().message;
  }
  auto store = open_sqlite_run_store(db.string());
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto runs = (*store)->list_runs(10, "");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u) << "run-2 came in the failed commit";
  EXPECT_EQ((*runs)[0].id, "run-1");
  EXPECT_EQ((*runs)[0].state, "running") << "the finish came after the failed write";
  std::filesystem::remove_all(tmpl);
}

// How SQLite would run `sql` on the file: the details of EXPLAIN QUERY PLAN, a line each.
std::string query_plan(const std::string& db, const std::string& sql) {
  auto raw = sqlite::Database::open(db);
  EXPECT_TRUE(raw.ok());
  if (!raw.ok()) return "";
  auto plan = (*raw)->prepare("EXPLAIN QUERY PLAN " + sql);
  EXPECT_TRUE(plan.ok());
  if (!plan.ok()) return "";
  std::string details;
  for (;;) {
    auto row = plan->step();
    EXPECT_TRUE(row.ok());
    if (!row.ok() || !*row) return details;
    details += plan->column_text(3) + "\n";
  }
}

TEST(SqliteRunStore, ARunsResultCountIsReadFromAnIndexNotFromItsBatches) {
  // `runs show` counts a run's results while the broker's loop waits: with the batches' blobs
  // in the table's own pages that read a page per batch (0.3 s for 3 million results).
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  {
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s0", Value(Value::Object{})).ok());
    ASSERT_TRUE((*store)->commit().ok());
    EXPECT_EQ(*(*store)->item_count("run-1"), 1u);
  }
  const std::string details =
      query_plan(db, "SELECT COALESCE(SUM(count), 0) FROM item_batches WHERE run_id='run-1'");
  EXPECT_NE(details.find("COVERING INDEX item_batches_counts"), std::string::npos) << details;
}

// Rows of `table` for run-1 (all rows for deleted_runs), read from the file itself.
int64_t rows_of_run_1(const std::string& db, const std::string& table) {
  auto raw = sqlite::Database::open(db);
  EXPECT_TRUE(raw.ok());
  if (!raw.ok()) return -1;
  auto n = (*raw)->query_text("SELECT COUNT(*) FROM " + table +
                              (table == "deleted_runs" ? "" : " WHERE run_id='run-1'"));
  EXPECT_TRUE(n.ok());
  return n.ok() ? std::stoll(*n) : -1;
}

TEST(SqliteRunStore, ARunDeletedBeforeARestartIsFreedAfterItAndItsRowsAllGo) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  {
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put_run(minimal_run("run-1")).ok());
    for (int i = 0; i < 5; ++i) {  // 5 batches
      ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/i" + std::to_string(i), Value()).ok());
      ASSERT_TRUE((*store)->commit().ok());
    }
    ASSERT_TRUE((*store)->put_dead_letter({"run-1/i0", "run-1", "a", 3, "boom", 1}).ok());
    ASSERT_TRUE((*store)->delete_run("run-1").ok());
    ASSERT_TRUE((*store)->commit().ok());
    ASSERT_TRUE(*(*store)->purge_deleted(2));
    ASSERT_TRUE((*store)->commit().ok());
  }
  EXPECT_EQ(rows_of_run_1(db, "item_batches"), 3);  // 2 freed before the "restart"
  EXPECT_EQ(rows_of_run_1(db, "deleted_runs"), 1);
  {
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok());
    EXPECT_FALSE(*(*store)->get_run("run-1"));
    EXPECT_EQ(*(*store)->item_count("run-1"), 0u);
    EXPECT_TRUE((*store)->dead_letters("run-1")->empty());
    int purges = 0;
    for (bool more = true; more && purges < 100; ++purges) {
      auto freed = (*store)->purge_deleted(2);
      ASSERT_TRUE(freed.ok()) << freed.error().message;
      more = *freed;
    }
    ASSERT_TRUE((*store)->commit().ok());
  }
  EXPECT_EQ(rows_of_run_1(db, "item_batches"), 0);
  EXPECT_EQ(rows_of_run_1(db, "dead_letters"), 0);
  EXPECT_EQ(rows_of_run_1(db, "deleted_runs"), 0);
}

TEST(SqliteRunStore, RetentionFindsOldRunsThroughAnIndexNotThroughTheirRows) {
  // A run's row starts with its pipeline text: a scan for old runs would read every one.
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  ASSERT_TRUE(open_sqlite_run_store(db).ok());
  const std::string details =
      query_plan(db, "SELECT id FROM runs WHERE state <> 'running' AND finished_ms < 5 "
                     "ORDER BY finished_ms LIMIT 16");
  EXPECT_NE(details.find("INDEX runs_finished"), std::string::npos) << details;
  EXPECT_EQ(details.find("TEMP B-TREE"), std::string::npos) << details;  // no sort either
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
    auto one = all_records(**store, "run-1");
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ((*one)[0].second.get_int("data"), 3);
    EXPECT_EQ(*(*store)->item_count("run-2"), 1u);
  }
  auto raw = sqlite::Database::open(db);
  EXPECT_EQ(*(*raw)->query_text("SELECT COUNT(*) FROM sqlite_master WHERE name='items'"), "0");
}

TEST(SqliteRunStore, AFileWithoutIdempotencyKeysGainsThemAndKeepsItsRuns) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  {
    auto raw = sqlite::Database::open(db);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(
        (*raw)
            ->exec("CREATE TABLE runs (id TEXT PRIMARY KEY, pipeline_name TEXT NOT NULL, "
                   "pipeline_path TEXT NOT NULL, pipeline_yaml TEXT NOT NULL, inputs TEXT "
                   "NOT NULL, workspace_dir TEXT NOT NULL, output_dir TEXT NOT NULL, "
                   "state TEXT NOT NULL, created_ms INTEGER NOT NULL, finished_ms INTEGER "
                   "NOT NULL DEFAULT 0, result TEXT, error TEXT NOT NULL DEFAULT '');"
                   "INSERT INTO runs (id, pipeline_name, pipeline_path, pipeline_yaml, "
                   "inputs, workspace_dir, output_dir, state, created_ms) VALUES ('run-old', "
                   "'p', '/p.yaml', 'x', '{}', '', '', 'running', 5)")
            .ok());
  }
  for (int open = 0; open < 2; ++open) {  // the second time, nothing is left to add
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto old = (*store)->get_run("run-old");
    ASSERT_TRUE(old.ok() && old->has_value()) << (old.ok() ? "" : old.error().message);
    EXPECT_EQ((*old)->idempotency_key, "");
    if (open == 0) {
      StoredRun keyed = minimal_run("run-new");
      keyed.idempotency_key = "job-1";
      ASSERT_TRUE((*store)->put_run(keyed).ok());
      ASSERT_TRUE((*store)->commit().ok());
    }
    auto found = (*store)->run_by_idempotency_key("job-1");
    ASSERT_TRUE(found.ok() && found->has_value());
    EXPECT_EQ((*found)->id, "run-new");
    // A second run under the key is an error, never a replacement of the first.
    StoredRun twin = minimal_run("run-twin");
    twin.idempotency_key = "job-1";
    EXPECT_FALSE((*store)->put_run(twin).ok());
    EXPECT_FALSE((*store)->commit().ok());
  }
  auto raw = sqlite::Database::open(db);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*(*raw)->query_text("SELECT COUNT(*) FROM sqlite_master WHERE type='index' AND "
                                "name='runs_by_idempotency_key'"),
            "1");
  EXPECT_EQ(*(*raw)->query_text("SELECT COUNT(*) FROM runs"), "2");
}

// A new file keeps item results in a rowid table: a WITHOUT ROWID one has the whole batch in its
// key, and reads batches at each step down the tree when one is added (sqlite_run_store.cpp).
TEST(SqliteRunStore, ANewFileKeepsItemBatchesInARowidTable) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  ASSERT_TRUE(open_sqlite_run_store(db).ok());
  auto raw = sqlite::Database::open(db);
  ASSERT_TRUE(raw.ok());
  auto sql = (*raw)->query_text("SELECT sql FROM sqlite_master WHERE name='item_batches'");
  ASSERT_TRUE(sql.ok());
  EXPECT_NE(sql->find("PRIMARY KEY (run_id, seq)"), std::string::npos) << *sql;
  EXPECT_EQ(sql->find("WITHOUT ROWID"), std::string::npos) << *sql;
}

// A file made before then keeps its WITHOUT ROWID table, and every use of it works as before.
TEST(SqliteRunStore, AFileWithTheOlderWithoutRowidTableRecordsReadsAndDropsAsBefore) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  {
    auto raw = sqlite::Database::open(db);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)
                    ->exec("CREATE TABLE item_batches (run_id TEXT NOT NULL, seq INTEGER NOT NULL, "
                           "count INTEGER NOT NULL, items BLOB NOT NULL, "
                           "PRIMARY KEY (run_id, seq)) WITHOUT ROWID;"
                           "CREATE INDEX item_batches_counts ON item_batches(run_id, count)")
                    .ok());
  }
  {
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok()) << store.error().message;
    for (int turn = 0; turn < 3; ++turn) {
      for (int i = 0; i < 4; ++i) {
        const std::string id = "run-1/s0.i" + std::to_string(turn * 4 + i);
        Value result;
        result["success"] = i != 3;
        ASSERT_TRUE((*store)->put_item_result("run-1", id, result).ok());
      }
      ASSERT_TRUE((*store)->commit().ok());
    }
  }
  {
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok());
    auto count = (*store)->item_count("run-1");
    ASSERT_TRUE(count.ok()) << count.error().message;
    EXPECT_EQ(*count, 12u);
    auto dropped = (*store)->drop_failed_items("run-1");
    ASSERT_TRUE(dropped.ok()) << dropped.error().message;
    ASSERT_TRUE((*store)->commit().ok());
    auto kept = all_records(**store, "run-1");
    ASSERT_TRUE(kept.ok()) << kept.error().message;
    EXPECT_EQ(kept->size(), 9u);
    count = (*store)->item_count("run-1");
    ASSERT_TRUE(count.ok()) << count.error().message;
    EXPECT_EQ(*count, 9u);
  }  // closed: the store holds its file's lock
  auto raw = sqlite::Database::open(db);
  ASSERT_TRUE(raw.ok());
  auto sql = (*raw)->query_text("SELECT sql FROM sqlite_master WHERE name='item_batches'");
  ASSERT_TRUE(sql.ok()) << sql.error().message;
  EXPECT_NE(sql->find("WITHOUT ROWID"), std::string::npos) << "the older table is kept as it is";
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
  auto broken = all_records(**store, "run-1");
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

// Run "run-1" with two stored batches of one result each (`success` as given), the second
// (seq 1) overwritten with bytes that do not decode.
void write_two_batches_and_spoil_the_second(const std::string& db, bool success) {
  {
    auto store = open_sqlite_run_store(db);
    ASSERT_TRUE(store.ok());
    const Value result(Value::Object{{"success", success}});
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s0", result).ok());
    ASSERT_TRUE((*store)->commit().ok());
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s1", result).ok());
    ASSERT_TRUE((*store)->commit().ok());
  }
  auto raw = sqlite::Database::open(db);
  ASSERT_TRUE((*raw)->exec("UPDATE item_batches SET items = X'92c1' WHERE seq = 1").ok());
}

TEST(SqliteRunStore, DroppingFailedItemsOfAnUnreadableBatchIsAnErrorNamingTheRunAndBatch) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  ASSERT_NO_FATAL_FAILURE(write_two_batches_and_spoil_the_second(db, false));
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
  EXPECT_EQ(*(*raw)->query_text("SELECT group_concat(count) FROM (SELECT count FROM item_batches "
                                 "WHERE run_id='run-1' ORDER BY seq)"),
            "3,1,1");
}

TEST(SqliteRunStore, PagesEndOnTheBatchesOfCommits) {
  test::TempDir dir;
  auto store = open_sqlite_run_store((dir.path() / "broker.db").string());
  ASSERT_TRUE(store.ok());
  std::vector<std::string> ids;
  for (int batch = 0; batch < 5; ++batch) {
    for (int i = 0; i < 3; ++i) {
      ids.push_back("run-1/b" + std::to_string(batch) + "i" + std::to_string(i));
      const Value ok(Value::Object{{"success", true}});
      ASSERT_TRUE((*store)->put_item_result("run-1", ids.back(), ok).ok());
    }
    ASSERT_TRUE((*store)->commit().ok());
  }
  auto one_batch = (*store)->item_results_page("run-1", 0, ItemPageLimits{});
  ASSERT_TRUE(one_batch.ok());
  const size_t batch_bytes = one_batch->bytes / 5;
  ItemPageLimits limits;
  limits.max_bytes = batch_bytes * 2 + batch_bytes / 2;  // two batches and a half
  std::vector<size_t> sizes;
  for (const auto& page : all_pages(**store, "run-1", limits)) {
    sizes.push_back(page.records.size());
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{6, 6, 3}));
  limits = ItemPageLimits{};
  limits.max_items = 2;  // fewer than a batch: a batch each
  const std::vector<ItemPage> pages = all_pages(**store, "run-1", limits);
  sizes.clear();
  for (const auto& page : pages) sizes.push_back(page.records.size());
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 3, 3, 3}));
  EXPECT_EQ(ids_in(pages), ids);
}

TEST(SqliteRunStore, AnItemRecordedTwiceIsInItsPagesTwiceInRecordOrder) {
  test::TempDir dir;
  auto store = open_sqlite_run_store((dir.path() / "broker.db").string());
  ASSERT_TRUE(store.ok());
  for (const int64_t n : {1, 2}) {
    const Value numbered(Value::Object{{"n", n}});
    ASSERT_TRUE((*store)->put_item_result("run-1", "run-1/s0", numbered).ok());
    ASSERT_TRUE((*store)->commit().ok());
  }
  ItemPageLimits limits;
  limits.max_items = 1;
  const std::vector<ItemPage> pages = all_pages(**store, "run-1", limits);
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0].records.at(0).second.get_int("n"), 1);
  EXPECT_EQ(pages[1].records.at(0).second.get_int("n"), 2);
}

TEST(SqliteRunStore, APageWithAnUnreadableBatchIsAnErrorNamingTheRunAndBatch) {
  test::TempDir dir;
  const std::string db = (dir.path() / "broker.db").string();
  ASSERT_NO_FATAL_FAILURE(write_two_batches_and_spoil_the_second(db, true));
  auto store = open_sqlite_run_store(db);
  ASSERT_TRUE(store.ok());
  ItemPageLimits limits;
  limits.max_items = 1;
  auto first = (*store)->item_results_page("run-1", 0, limits);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->next);
  auto broken = (*store)->item_results_page("run-1", *first->next, limits);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("run-1 (batch 1)"), std::string::npos)
      << broken.error().message;
}

TEST_P(RunStoreTest, ADeletedRunTakesItsItemResultsAndDeadLettersAlongAndNothingElse) {
  ASSERT_TRUE(store_->put_run(run("run-1", 10)).ok());
  ASSERT_TRUE(store_->put_run(run("run-2", 20)).ok());
  record_one_by_one("run-1", 5);
  record_one_by_one("run-2", 3);
  ASSERT_TRUE(store_->put_dead_letter({"run-1/s0", "run-1", "a", 3, "boom", 5}).ok());
  ASSERT_TRUE(store_->put_dead_letter({"run-2/s0", "run-2", "b", 1, "bang", 6}).ok());
  ASSERT_TRUE(store_->put_item_result("run-1", "run-1/late", result(true)).ok());  // this turn's
  auto deleted = store_->delete_run("run-1");
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(*deleted, 6u);
  ASSERT_TRUE(store_->commit().ok());

  EXPECT_FALSE(*store_->get_run("run-1"));
  EXPECT_EQ(*store_->item_count("run-1"), 0u);
  EXPECT_TRUE(ids_of("run-1").empty());
  EXPECT_TRUE(store_->dead_letters("run-1")->empty());
  EXPECT_TRUE(*store_->get_run("run-2"));
  EXPECT_EQ(ids_of("run-2"), (std::set<std::string>{"run-2/i0", "run-2/i1", "run-2/i2"}));
  EXPECT_EQ(store_->dead_letters("run-2")->size(), 1u);

  auto again = store_->delete_run("run-1");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  // A run of the same id recorded afresh starts from nothing.
  ASSERT_TRUE(store_->put_run(run("run-1", 30)).ok());
  record_one_by_one("run-1", 2);
  EXPECT_EQ(ids_of("run-1"), (std::set<std::string>{"run-1/i0", "run-1/i1"}));
}

TEST_P(RunStoreTest, ADeletedRunIsFreedAFewBatchesAtATimeAndNothingOfItIsReadMeanwhile) {
  ASSERT_TRUE(store_->put_run(run("run-1", 10)).ok());
  ASSERT_TRUE(store_->put_run(run("run-2", 20)).ok());
  record_one_by_one("run-1", 10);  // 10 batches
  record_one_by_one("run-2", 3);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(store_->put_dead_letter({"run-1/d" + std::to_string(i), "run-1", "a", 3, "boom", i})
                    .ok());
  }
  ASSERT_TRUE(store_->commit().ok());
  auto nothing = store_->purge_deleted(3);
  ASSERT_TRUE(nothing.ok()) << nothing.error().message;
  EXPECT_FALSE(*nothing);  // no run deleted: nothing to free, nothing touched
  EXPECT_EQ(*store_->item_count("run-1"), 10u);

  ASSERT_EQ(*store_->delete_run("run-1"), 10u);
  ASSERT_TRUE(store_->commit().ok());
  int purges = 0;
  for (bool more = true; more && purges < 100; ++purges) {
    auto freed = store_->purge_deleted(3);
    ASSERT_TRUE(freed.ok()) << freed.error().message;
    more = *freed;
    ASSERT_TRUE(store_->commit().ok());
    EXPECT_EQ(*store_->item_count("run-1"), 0u);
    EXPECT_TRUE(ids_of("run-1").empty());
    EXPECT_TRUE(store_->dead_letters("run-1")->empty());
    EXPECT_EQ(store_->item_batch("run-1", 0).error().code, ErrorCode::kNotFound);
    EXPECT_TRUE(store_->item_results_page("run-1", 0, ItemPageLimits{})->records.empty());
  }
  EXPECT_GE(purges, 4);  // 10 batches, at most 3 a call
  EXPECT_LT(purges, 100) << "the freeing never ends";
  EXPECT_FALSE(*store_->purge_deleted(3));
  EXPECT_EQ(ids_of("run-2"), (std::set<std::string>{"run-2/i0", "run-2/i1", "run-2/i2"}));
  EXPECT_EQ(*store_->item_count("run-2"), 3u);
}

TEST_P(RunStoreTest, FinishedBeforeListsTheOldestFinishedRunsFirstAndNeverARunningOne) {
  const std::vector<std::tuple<std::string, std::string, int64_t>> runs = {
      {"run-a", "succeeded", 300}, {"run-b", "failed", 100}, {"run-c", "running", 0},
      {"run-d", "cancelled", 500}, {"run-e", "succeeded", 200}};
  for (const auto& [id, state, finished] : runs) {
    ASSERT_TRUE(store_->put_run(run(id, 1)).ok());
    if (state != "running") {
      ASSERT_TRUE(store_->finish_run(id, state, Value(), "", finished).ok());
    }
  }
  ASSERT_TRUE(store_->commit().ok());
  using Ids = std::vector<std::string>;
  EXPECT_EQ(*store_->finished_before(400, 10), (Ids{"run-b", "run-e", "run-a"}));
  EXPECT_EQ(*store_->finished_before(400, 2), (Ids{"run-b", "run-e"}));
  EXPECT_EQ(*store_->finished_before(100, 10), Ids{});  // strictly before
  EXPECT_EQ(*store_->finished_before(1000, 10), (Ids{"run-b", "run-e", "run-a", "run-d"}));
}

INSTANTIATE_TEST_SUITE_P(Stores, RunStoreTest, all_stores(), store_name);

}  // namespace
}  // namespace pl::broker
