// SqliteStore: what only the real store can show (durability across reopening, locking).
#include "registry/sqlite_store.h"

#include <gtest/gtest.h>

#include "tests/support/harness.h"

namespace pl::registry {
namespace {

SessionRecord session(const std::string& name, int64_t version) {
  return SessionRecord{name, version, 0, 1, 2, TokenUsage{3, 4}};
}

std::unique_ptr<SqliteStore> open_store(const std::filesystem::path& path) {
  auto store = SqliteStore::open(path);
  EXPECT_TRUE(store.ok()) << store.error().message;
  return store.ok() ? std::move(*store) : nullptr;
}

TEST(SqliteStore, CommittedBatchesSurviveReopening) {
  pl::test::TempDir dir;
  const auto path = dir.path() / "registry.db";
  {
    auto store = open_store(path);
    ASSERT_TRUE(store->begin().ok());
    ASSERT_TRUE(store->put_session(session("kept", 1)).ok());
    ASSERT_TRUE(store->add_turn("kept", TurnRecord{1, 5, R"(["hello"])", {}, "item-1"}).ok());
    ASSERT_TRUE(store->commit().ok());
    ASSERT_TRUE(store->begin().ok());
    ASSERT_TRUE(store->put_session(session("dropped", 1)).ok());
    store->rollback();
  }
  auto store = open_store(path);
  ASSERT_TRUE(store->begin().ok());
  auto kept = store->session("kept");
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->usage.output_tokens, 4);
  auto turns = store->turns("kept", 0, 1 << 20);
  ASSERT_TRUE(turns.ok());
  ASSERT_EQ(turns->size(), 1u);
  EXPECT_EQ((*turns)[0].messages, R"(["hello"])");
  EXPECT_EQ((*turns)[0].origin, "item-1");
  EXPECT_FALSE(store->session("dropped")->has_value());
  ASSERT_TRUE(store->commit().ok());
}

TEST(SqliteStore, RollingBackASavepointUndoesOnlyThatMutation) {
  pl::test::TempDir dir;
  auto store = open_store(dir.path() / "registry.db");
  ASSERT_TRUE(store->begin().ok());
  ASSERT_TRUE(store->put_session(session("before", 0)).ok());
  ASSERT_TRUE(store->savepoint().ok());
  ASSERT_TRUE(store->put_session(session("undone", 0)).ok());
  store->rollback_to_savepoint();
  ASSERT_TRUE(store->savepoint().ok());
  ASSERT_TRUE(store->put_session(session("after", 0)).ok());
  ASSERT_TRUE(store->release_savepoint().ok());
  ASSERT_TRUE(store->commit().ok());
  auto all = store->sessions(10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "after");
  EXPECT_EQ((*all)[1].name, "before");
}

TEST(SqliteStore, ASecondOpenOfTheSameFileIsRefusedWhileTheFirstHoldsIt) {
  pl::test::TempDir dir;
  auto first = open_store(dir.path() / "registry.db");
  SqliteStoreOptions impatient;
  impatient.busy_timeout_ms = 50;
  auto second = SqliteStore::open(dir.path() / "registry.db", impatient);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kIo);
  EXPECT_NE(second.error().message.find("locked"), std::string::npos) << second.error().message;
  first.reset();
  EXPECT_TRUE(SqliteStore::open(dir.path() / "registry.db", impatient).ok());
}

TEST(SqliteStore, RecordedRepliesComeBackAsTheyWere) {
  pl::test::TempDir dir;
  auto store = open_store(dir.path() / "registry.db");
  ASSERT_TRUE(store->begin().ok());
  Value result;
  result["version"] = 7;
  protocol::RegistryReply ok = protocol::RegistryReply::success(result);
  protocol::RegistryReply failed =
      protocol::RegistryReply::failure(make_error(ErrorCode::kConflict, "at version 7, expected 6"));
  ASSERT_TRUE(store->record_applied({"a", "session.append", ok, 10}).ok());
  ASSERT_TRUE(store->record_applied({"b", "session.append", failed, 11}).ok());
  ASSERT_TRUE(store->commit().ok());
  auto a = store->applied("a");
  auto b = store->applied("b");
  ASSERT_TRUE(a.ok() && a->has_value() && b.ok() && b->has_value());
  EXPECT_TRUE((*a)->reply.ok);
  EXPECT_EQ((*a)->reply.result, result);
  EXPECT_EQ((*b)->reply.code, ErrorCode::kConflict);
  EXPECT_EQ((*b)->reply.message, "at version 7, expected 6");
  EXPECT_FALSE(store->applied("c")->has_value());
}

TEST(SqliteStore, WithADeferredSyncCommitsNeedASyncAndTheWalIsStillCheckpointed) {
  pl::test::TempDir dir;
  SqliteStoreOptions options;
  options.wal_autocheckpoint_pages = 10;
  options.deferred_sync = true;
  auto store = SqliteStore::open(dir.path() / "registry.db", options);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_FALSE((*store)->commit_is_durable());
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE((*store)->begin().ok());
    ASSERT_TRUE((*store)->put_session(session("s" + std::to_string(i), i)).ok());
    ASSERT_TRUE((*store)->commit().ok());
    ASSERT_TRUE((*store)->sync().ok());
  }
  // Without checkpoints the WAL would hold a frame per commit at least (300 x 4 KiB).
  EXPECT_LT(std::filesystem::file_size(dir.path() / "registry.db-wal"), 100u * 4096);
  options.deferred_sync = false;
  store->reset();
  auto plain = SqliteStore::open(dir.path() / "registry.db", options);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE((*plain)->commit_is_durable());
  ASSERT_TRUE((*plain)->begin().ok());
  EXPECT_EQ((*plain)->sessions(1000)->size(), 300u);
  ASSERT_TRUE((*plain)->commit().ok());
}

}  // namespace
}  // namespace pl::registry
