#include "common/sqlite/online_backup.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/byte_size.h"
#include "common/fs.h"
#include "common/sqlite/database.h"

namespace pl::sqlite {
namespace {

namespace fs = std::filesystem;

// Not ensure_private_dir: an existing directory (an operator's --to) is used as it is, never
// chmod-ed; only one made here is made private.
Status make_directory(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return ok_status();
  if (fs::exists(dir, ec)) {
    return make_error(ErrorCode::kInvalidInput, dir.string() + " exists and is not a directory");
  }
  fs::create_directories(dir, ec);
  if (ec) {
    // A full disk may have room later (kIo is retried); a place that cannot hold a directory
    // (permission, read-only, /proc) will not, and is the caller's to change.
    const bool may_pass =
        ec == std::errc::no_space_on_device || ec.value() == EDQUOT || ec == std::errc::io_error;
    return make_error(may_pass ? ErrorCode::kIo : ErrorCode::kInvalidInput,
                      "create directory " + dir.string() + ": " + ec.message());
  }
  // A copy of everything the process stores: for its owner only.
  if (::chmod(dir.c_str(), 0700) != 0) return errno_error("chmod 0700 " + dir.string(), errno);
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<OnlineBackup>> OnlineBackup::start(Database& source,
                                                          const fs::path& target) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(target, ec))) {
    return make_error(ErrorCode::kConflict, target.string() +
                                                " exists already: a backup never "
                                                "replaces a file; name another directory");
  }
  if (auto st = make_directory(target.parent_path()); !st.ok()) return st.error();
  fs::path partial = target;
  partial += ".partial";
  fs::remove(partial, ec);  // left by a process that died while copying
  auto copy = Database::open(partial);
  if (!copy.ok()) return copy.error().with_context("backup to " + target.string());
  if (::chmod(partial.c_str(), 0600) != 0) {
    const Error e = errno_error("chmod 0600 " + partial.string(), errno);
    copy->reset();
    fs::remove(partial, ec);
    return e;
  }
  // No journal and no syncs while copying: an unfinished copy is thrown away, and the finished
  // one is synced once, whole, before it takes its name.
  if (auto st = (*copy)->exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF"); !st.ok()) {
    copy->reset();
    fs::remove(partial, ec);
    return st.error().with_context("backup to " + target.string());
  }
  sqlite3_backup* backup = sqlite3_backup_init((*copy)->raw(), "main", source.raw(), "main");
  if (!backup) {
    const Error e = sqlite_error((*copy)->raw(), "backup to " + target.string());
    copy->reset();
    fs::remove(partial, ec);
    return e;
  }
  auto page_size = source.query_text("PRAGMA page_size");
  const int64_t size = page_size.ok() && !page_size->empty() ? std::stoll(*page_size) : 4096;
  return std::unique_ptr<OnlineBackup>(
      new OnlineBackup(target, std::move(partial), std::move(*copy), backup, size));
}

OnlineBackup::OnlineBackup(fs::path target, fs::path partial, std::unique_ptr<Database> copy,
                           sqlite3_backup* backup, int64_t page_size)
    : target_(std::move(target)),
      partial_(std::move(partial)),
      copy_(std::move(copy)),
      backup_(backup),
      page_size_(page_size) {}

OnlineBackup::~OnlineBackup() { abandon(); }

void OnlineBackup::abandon() {
  if (backup_) sqlite3_backup_finish(backup_);
  backup_ = nullptr;
  if (copy_) {
    copy_.reset();
    std::error_code ec;
    fs::remove(partial_, ec);
    if (ec) spdlog::warn("backup: cannot remove {}: {}", partial_.string(), ec.message());
  }
}

Result<bool> OnlineBackup::step(int pages) {
  if (!backup_) return make_error(ErrorCode::kInternal, "backup step after its end");
  const int rc = sqlite3_backup_step(backup_, pages);
  remaining_ = sqlite3_backup_remaining(backup_);
  total_ = sqlite3_backup_pagecount(backup_);
  // Busy or locked: the source is being written (or the copy's file briefly is); next step.
  if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return false;
  if (rc != SQLITE_DONE) {
    std::string text = "backup to " + target_.string() + ": " + sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_FULL) {
      if (auto room = file_system_room(target_.parent_path())) {
        text += " (" + target_.parent_path().string() + ": " + describe(*room) + ")";
      }
    }
    const Error e = make_error(ErrorCode::kIo, std::move(text));
    abandon();
    return e;
  }
  if (auto st = finish(); !st.ok()) {
    abandon();
    return st.error();
  }
  return true;
}

Status OnlineBackup::finish() {
  const int rc = sqlite3_backup_finish(backup_);
  backup_ = nullptr;
  if (rc != SQLITE_OK) return sqlite_error(copy_->raw(), "backup to " + target_.string());
  copy_.reset();  // closes the copy: every page is in the file
  if (auto st = fsync_file(partial_); !st.ok()) return st;
  if (::renameat2(AT_FDCWD, partial_.c_str(), AT_FDCWD, target_.c_str(), RENAME_NOREPLACE) != 0) {
    const Error e = errno_error("rename " + partial_.string() + " to " + target_.string(), errno);
    std::error_code ec;
    fs::remove(partial_, ec);
    return e;
  }
  return fsync_dir(target_.parent_path());
}

Status check_database_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return make_error(ErrorCode::kInvalidInput, path.string() + " is not a file");
  }
  // A URI, so that `immutable` applies: characters that mean something in one are escaped.
  std::string uri = "file:";
  for (char c : path.string()) {
    if (c == '%' || c == '?' || c == '#') {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<unsigned char>(c));
      uri += escaped;
    } else {
      uri += c;
    }
  }
  uri += "?immutable=1";
  configure_sqlite();
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  std::string problem;
  if (rc != SQLITE_OK) {
    problem = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  } else {
    sqlite3_stmt* check = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &check, nullptr) != SQLITE_OK) {
      problem = sqlite3_errmsg(db);
    } else if (sqlite3_step(check) != SQLITE_ROW) {
      problem = sqlite3_errmsg(db);
    } else {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
      if (!text || std::string_view(text) != "ok") problem = text ? text : "quick_check failed";
    }
    sqlite3_finalize(check);
  }
  sqlite3_close(db);
  if (problem.empty()) return ok_status();
  return make_error(ErrorCode::kInvalidInput,
                    path.string() + " is not a sound SQLite database: " + problem);
}

Result<Value> BackupJob::start(Database& source, const fs::path& dir) {
  const fs::path target = (dir / file_name_).lexically_normal();
  // The same request again (a client retrying after a lost reply): the copy it started, under
  // way or finished.
  if (copy_ && copy_->target() == target) return status();
  if (!copy_ && last_.get_string("state") == "done" && last_.get_string("path") == target.string()) {
    return last_;
  }
  if (copy_) {
    return make_error(ErrorCode::kConflict,
                      "a backup to " + copy_->target().string() + " is under way (" +
                          std::to_string(copy_->pages_copied()) + " of " +
                          std::to_string(copy_->pages_total()) + " pages); wait for it to finish");
  }
  if (!dir.is_absolute()) {
    return make_error(ErrorCode::kInvalidInput,
                      "backup: \"" + dir.string() + "\" is not an absolute directory");
  }
  auto copy = OnlineBackup::start(source, target);
  if (!copy.ok()) return std::move(copy).error();
  copy_ = std::move(*copy);
  started_ = Clock::now();
  last_ = Value();
  spdlog::info("backup of {} to {} started", file_name_, copy_->target().string());
  return status();
}

void BackupJob::step() {
  if (!copy_) return;
  auto done = copy_->step(kPagesPerStep);
  if (done.ok() && !*done) return;
  Value last = status();
  if (done.ok()) {
    last["state"] = "done";
    spdlog::info("backup of {} to {} done: {} in {} ms", file_name_, copy_->target().string(),
                 format_bytes(static_cast<uint64_t>(last.get_int("bytes"))),
                 last.get_int("elapsed_ms"));
  } else {
    last["state"] = "failed";
    last["error"] = done.error().message;
    spdlog::error("backup of {} failed: {}", file_name_, done.error().message);
  }
  last_ = std::move(last);
  copy_.reset();
}

void BackupJob::abandon(const std::string& why) {
  if (!copy_) return;
  Value last = status();
  last["state"] = "failed";
  last["error"] = why;
  spdlog::error("backup of {} to {} given up: {}", file_name_, copy_->target().string(), why);
  last_ = std::move(last);
  copy_.reset();
}

Value BackupJob::status() const {
  if (!copy_) {
    if (!last_.is_null()) return last_;
    Value idle;
    idle["state"] = "idle";
    return idle;
  }
  Value v;
  v["state"] = "copying";
  v["path"] = copy_->target().string();
  v["pages_copied"] = copy_->pages_copied();
  v["pages_total"] = copy_->pages_total();
  v["bytes"] = copy_->pages_total() * copy_->page_size();
  v["elapsed_ms"] = static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count());
  return v;
}

Status backup_allowed_over(std::string_view endpoint) {
  if (endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0) return ok_status();
  return make_error(ErrorCode::kInvalidInput,
                    "backup writes files on this host: it is taken only over the state "
                    "directory's local socket (pipelinectl backup on this host), not over " +
                        std::string(endpoint.empty() ? "an unknown endpoint" : endpoint));
}

}  // namespace pl::sqlite
