// RegistryStore on SQLite: registry.db, the registry's only durable state.
//
// Durability: WAL journal. SyncMode::kFull (the default) makes every acknowledged batch survive a
// power loss; by default it is plain synchronous=FULL (commit() fsyncs the WAL). With
// `deferred_sync` it does so with a deferred sync instead (commit_is_durable() false): SQLite runs
// with synchronous=OFF, commit() writes the batch to the WAL, and sync() fdatasyncs the WAL file
// (on another thread, overlapping the next batch). Checkpoints are then run by commit() itself,
// with synchronous=NORMAL for their duration, so the WAL is fsynced before its frames are copied
// and the database file after, before the WAL is ever reused. In every mode, a commit (with its
// checkpoint) that has not returned within sqlite::kSyncDeadline ends the process with exit code
// 75, as a stuck deferred sync does (a disk that stopped answering). SyncMode::kNormal
// (synchronous=NORMAL) survives the process's crash (kill -9) but may lose the last batches on
// power loss (docs/registry.md). The database is opened with locking_mode=EXCLUSIVE and locked
// at open: a second registry on the same file fails to open it (kIo "database is locked")
// instead of writing beside the first.
//
// Schema (user_version 1): tools(name, definition JSON, revision, created_ms, updated_ms),
// sessions(name, version, max_turns, created_ms, updated_ms, input_tokens, output_tokens),
// turns(session, idx, time_ms, messages JSON, input_tokens, output_tokens, origin),
// applied(seq, id, op, reply JSON, time_ms). All statements are prepared at open; values are
// bound, never spliced into SQL. Not thread-safe.
#pragma once

#include <filesystem>
#include <memory>

#include "registry/registry_store.h"
#include "common/sqlite/commit_deadline.h"
#include "common/sqlite/database.h"
#include "common/sqlite/deferred_wal_sync.h"

namespace pl::registry {

enum class SyncMode { kFull, kNormal };

struct SqliteStoreOptions {
  SyncMode sync = SyncMode::kFull;
  int busy_timeout_ms = 2000;          // how long open() waits for another holder of the lock
  int wal_autocheckpoint_pages = 1000;  // SQLite's default; 0 disables automatic checkpoints
  int page_size = 4096;                 // for a new database only
  bool deferred_sync = false;           // kFull only: fsync in sync(), not in commit()
};

class SqliteStore final : public RegistryStore {
 public:
  // Opens or creates the database and its schema. kIo names the file and the reason; a database
  // with a newer schema than this program knows is refused (kInvalidInput).
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& path,
                                                   const SqliteStoreOptions& options = {});
  ~SqliteStore() override;

  Status begin() override;
  Status commit() override;
  bool commit_is_durable() const override { return !wal_sync_; }
  Status sync() override;
  void rollback() override;
  sqlite::Database* database() override { return db_.get(); }
  Status savepoint() override;
  Status release_savepoint() override;
  void rollback_to_savepoint() override;

  Result<std::optional<ToolRecord>> tool(std::string_view name) override;
  Result<std::vector<ToolRecord>> tools(size_t limit) override;
  Status put_tool(const ToolRecord& tool) override;
  Status remove_tool(std::string_view name) override;

  Result<std::optional<SessionRecord>> session(std::string_view name) override;
  Result<std::vector<SessionRecord>> sessions(size_t limit) override;
  Status put_session(const SessionRecord& session) override;
  Status remove_session(std::string_view name) override;
  Result<std::vector<std::string>> sessions_idle_since(int64_t before_ms, size_t limit) override;
  Result<std::vector<TurnRecord>> turns(std::string_view session, int64_t after,
                                        int64_t max_bytes) override;
  Status add_turn(std::string_view session, const TurnRecord& turn) override;
  Result<int64_t> newest_turns_within(std::string_view session, int64_t after,
                                      int64_t max_bytes) override;
  Status remove_turns_after(std::string_view session, int64_t keep) override;

  Result<std::optional<AppliedRecord>> applied(std::string_view id) override;
  Status record_applied(const AppliedRecord& record) override;
  Result<int64_t> forget_applied(int64_t keep, int64_t expire_before_ms,
                                 int64_t protect_since_ms) override;

  Result<StoreCounts> counts() override;

 private:
  struct Statements;
  SqliteStore(std::unique_ptr<sqlite::Database> db, std::unique_ptr<Statements> statements);

  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<Statements> q_;
  bool in_transaction_ = false;
  std::unique_ptr<sqlite::DeferredWalSync> wal_sync_;  // with a deferred sync only
  std::unique_ptr<sqlite::CommitDeadline> commit_deadline_;
};

}  // namespace pl::registry
