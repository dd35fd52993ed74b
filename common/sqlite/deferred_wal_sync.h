// Power-loss durability for a WAL database without an fsync inside each commit.
//
// The database runs with synchronous=OFF: a commit writes its frames to the WAL (which survives
// the process's death, being in the kernel's page cache) and returns. sync() then fdatasyncs the
// WAL, making every commit that returned before it durable; the owner typically runs it on
// another thread (DurabilitySyncer) while it commits the next batches, and acknowledges a batch
// only once a sync that started after its commit has finished.
//
// SQLite's automatic checkpoints are replaced by after_commit(): a checkpoint copies WAL frames
// into the database and may then let the WAL be overwritten, so it runs with synchronous=NORMAL
// for its duration (the WAL is fsynced before the copy, the database after).
//
// REQUIRES of the database: WAL journal, locking_mode=EXCLUSIVE (the WAL file is then never
// replaced or deleted while we run; sync() checks anyway), synchronous=OFF, and a WAL file that
// exists (one commit made).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "common/result.h"
#include "common/sqlite/database.h"

namespace pl::sqlite {

class DeferredWalSync {
 public:
  // Installs the WAL hook on `db`, opens the WAL of the database file `path` for fdatasync and
  // makes the WAL's directory entry durable, and the WAL itself: what an earlier process
  // committed without a sync is durable before anything read from it is acknowledged.
  // `checkpoint_pages`: WAL size that triggers a checkpoint in after_commit(). `db` outlives the
  // returned object.
  static Result<std::unique_ptr<DeferredWalSync>> attach(Database& db,
                                                         const std::filesystem::path& path,
                                                         int checkpoint_pages);
  ~DeferredWalSync();
  DeferredWalSync(const DeferredWalSync&) = delete;
  DeferredWalSync& operator=(const DeferredWalSync&) = delete;

  // On the database's thread, after each commit: checkpoints once the WAL has grown past the
  // threshold. The commit stands whatever this returns; a failed checkpoint lets the WAL grow.
  Status after_commit();
  // Makes every commit that returned before this call durable. Safe on another thread than the
  // database's, one call at a time.
  Status sync();
  // Syncs that succeeded, attach()'s own included.
  uint64_t syncs() const { return syncs_.load(); }

 private:
  DeferredWalSync(Database& db, std::filesystem::path wal_path, int wal_fd, int checkpoint_pages);

  Database& db_;
  std::filesystem::path wal_path_;
  int wal_fd_;
  int checkpoint_pages_;
  int wal_pages_ = 0;  // set by SQLite's WAL hook after each commit
  std::atomic<uint64_t> syncs_{0};
};

}  // namespace pl::sqlite
