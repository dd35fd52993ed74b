// A copy of a live database, made a few pages at a time through the connection that writes it,
// so that its owner (the broker, the registry) goes on serving while it is made.
//
// Consistency: SQLite writes a change made through the same connection between two steps into
// the copy as well, so the finished copy is the database as it stood after the last step, one
// committed state, openable as it is. Steps must come between transactions (a step while the
// connection writes is refused by SQLite and simply tried again at the next one).
//
// Durability: the copy is written as "TARGET.partial", synced, then renamed to TARGET (never over
// an existing file) and its directory synced. TARGET exists only complete; an unfinished or
// failed copy leaves nothing behind.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/value.h"

struct sqlite3_backup;

namespace pl::sqlite {

class Database;

class OnlineBackup {
 public:
  // Starts copying `source` to `target`. Fails when `target` exists, or its partial file cannot
  // be created (a missing directory is created, mode 0700).
  static Result<std::unique_ptr<OnlineBackup>> start(Database& source,
                                                     const std::filesystem::path& target);
  ~OnlineBackup();  // an unfinished copy is removed
  OnlineBackup(const OnlineBackup&) = delete;
  OnlineBackup& operator=(const OnlineBackup&) = delete;

  // Copies up to `pages` more pages. true: the copy is complete, synced and in place; after
  // that, or after an error (the partial file is then removed), do not call it again.
  Result<bool> step(int pages);

  int64_t pages_copied() const { return total_ - remaining_; }
  int64_t pages_total() const { return total_; }
  int64_t page_size() const { return page_size_; }
  const std::filesystem::path& target() const { return target_; }

 private:
  OnlineBackup(std::filesystem::path target, std::filesystem::path partial,
               std::unique_ptr<Database> copy, sqlite3_backup* backup, int64_t page_size);
  Status finish();
  void abandon();

  std::filesystem::path target_;
  std::filesystem::path partial_;
  std::unique_ptr<Database> copy_;
  sqlite3_backup* backup_ = nullptr;
  int64_t page_size_ = 0;
  int64_t total_ = 0;
  int64_t remaining_ = 0;
};

// A quick_check of the database file at `path`, opened read-only as an immutable file so that
// nothing is created beside it (no -wal, no -shm): ok, or kInvalidInput saying what is wrong
// with which file.
Status check_database_file(const std::filesystem::path& path);

// Whether a backup request that came in on the socket bound at `endpoint` may be taken. A backup
// writes files on this host, in a directory the request names: only the host's own users may
// ask, over an ipc:// (or inproc://) socket, which the state directory's permissions guard.
// Over any other endpoint (tcp://: a remote worker or client, even one whose CURVE key is
// allowed) it is refused with kInvalidInput, saying where to ask instead.
Status backup_allowed_over(std::string_view endpoint);

// The one backup a process makes at a time, stepped by its loop: what a `backup` request starts
// and reports. Its status is a Value (protocol: docs/broker-api.md, docs/registry.md):
//   {state: idle | copying | done | failed, path, pages_copied, pages_total, bytes, elapsed_ms,
//    error?}
// `bytes` is pages_total times the page size: the size of the finished file.
class BackupJob {
 public:
  using Clock = std::chrono::steady_clock;
  // Pages copied per step: 256 pages of 4 KiB take about a millisecond of the owner's loop.
  static constexpr int kPagesPerStep = 256;

  // `file_name`: the copy's name in the directory each request names ("broker.db").
  explicit BackupJob(std::string file_name) : file_name_(std::move(file_name)) {}

  // Starts copying `source` into `dir`/file_name and returns the status. Refused (kConflict)
  // while another copy is under way or when the file exists, and (kInvalidInput) when `dir` is
  // not an absolute path. Asked again for the copy under way, or for the one just done (a retry
  // whose first reply was lost), it returns that copy's status.
  Result<Value> start(Database& source, const std::filesystem::path& dir);
  // One step of the copy under way, if any; logs how it ended.
  void step();
  // Gives up the copy under way, if any (its partial file is removed): `why` becomes its error.
  void abandon(const std::string& why);
  bool busy() const { return copy_ != nullptr; }
  Value status() const;

 private:
  std::string file_name_;
  std::unique_ptr<OnlineBackup> copy_;
  Clock::time_point started_{};
  // What the last finished (or failed) copy left, for status() once copy_ is gone.
  Value last_;
};

}  // namespace pl::sqlite
