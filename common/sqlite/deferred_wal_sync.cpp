#include "common/sqlite/deferred_wal_sync.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/fs.h"

namespace pl::sqlite {

Result<std::unique_ptr<DeferredWalSync>> DeferredWalSync::attach(Database& db,
                                                                 const std::filesystem::path& path,
                                                                 int checkpoint_pages) {
  std::filesystem::path wal_path = path.string() + "-wal";
  const int wal_fd = ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (wal_fd < 0) return errno_error("opening " + wal_path.string(), errno);
  // From here the fd belongs to the object, closed by its destructor on every path.
  std::unique_ptr<DeferredWalSync> sync(
      new DeferredWalSync(db, std::move(wal_path), wal_fd, std::max(1, checkpoint_pages)));
  const std::filesystem::path parent = path.parent_path().empty() ? "." : path.parent_path();
  if (auto st = fsync_dir(parent); !st.ok()) return std::move(st).error();
  // What an earlier process committed and did not sync (it died first) is in the page cache,
  // readable, and so answerable (a submission or request made again, seen as done): durable
  // before the first reply, as everything this process acknowledges must be.
  if (auto st = sync->sync(); !st.ok()) return std::move(st).error();
  // Our hook replaces SQLite's automatic checkpoints: after_commit() runs them, safely synced.
  sqlite3_wal_hook(
      db.raw(),
      [](void* self, sqlite3*, const char*, int pages) {
        static_cast<DeferredWalSync*>(self)->wal_pages_ = pages;
        return SQLITE_OK;
      },
      sync.get());
  return sync;
}

DeferredWalSync::DeferredWalSync(Database& db, std::filesystem::path wal_path, int wal_fd,
                                 int checkpoint_pages)
    : db_(db), wal_path_(std::move(wal_path)), wal_fd_(wal_fd), checkpoint_pages_(checkpoint_pages) {}

DeferredWalSync::~DeferredWalSync() {
  sqlite3_wal_hook(db_.raw(), nullptr, nullptr);
  ::close(wal_fd_);
}

Status DeferredWalSync::after_commit() {
  if (wal_pages_ < checkpoint_pages_) return ok_status();
  if (auto st = db_.exec("PRAGMA synchronous=NORMAL"); !st.ok()) return st;
  int log_frames = 0, done_frames = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db_.raw(), "main", SQLITE_CHECKPOINT_PASSIVE,
                                           &log_frames, &done_frames);
  Status result = rc == SQLITE_OK ? ok_status() : sqlite_error(db_.raw(), "checkpoint");
  if (auto st = db_.exec("PRAGMA synchronous=OFF"); !st.ok()) return st;
  if (result.ok()) wal_pages_ = 0;
  return result;
}

namespace {

// A file's identity, asked for without its timestamps. A stat() reads mtime and so marks it
// "queried"; with multigrain timestamps (Linux 6.13+, ext4 among others) the next write then
// takes a fine-grained mtime, which dirties the inode, and the fdatasync after it must write the
// inode's block as well as the data: a second synchronous write per sync (+65 us a sync on the
// development machine's ext4 virtual disk). Asking for the inode number alone leaves mtime
// unqueried.
bool same_file(int fd, const char* path) {
  struct statx held {};
  struct statx named {};
  return ::statx(fd, "", AT_EMPTY_PATH, STATX_INO, &held) == 0 &&
         ::statx(AT_FDCWD, path, 0, STATX_INO, &named) == 0 && held.stx_ino == named.stx_ino &&
         held.stx_dev_major == named.stx_dev_major && held.stx_dev_minor == named.stx_dev_minor;
}

}  // namespace

Status DeferredWalSync::sync() {
  // A replaced WAL would make fdatasync a silent no-op: refuse rather than pretend.
  if (!same_file(wal_fd_, wal_path_.c_str())) {
    return make_error(ErrorCode::kIo, wal_path_.string() + " is not the file opened at start");
  }
  if (::fdatasync(wal_fd_) != 0) return errno_error("fdatasync " + wal_path_.string(), errno);
  ++syncs_;
  return ok_status();
}

}  // namespace pl::sqlite
