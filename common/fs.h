// Small file-system helpers with explicit durability.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pl {

// Replaces `path` with `data` so that a reader sees the old file or the new one, never a part:
// writes a temporary file in the same directory, fsyncs it, renames it over `path`, then fsyncs
// the directory. Creates missing parent directories. On failure `path` is untouched and the
// temporary file is removed.
Status write_file_atomic(const std::filesystem::path& path, std::string_view data,
                         int mode = 0644);

// fsync of a directory: makes the creation, renaming or removal of its entries durable.
Status fsync_dir(const std::filesystem::path& dir);
// fsync of a file written by someone else (SQLite, say): its data is on the disk.
Status fsync_file(const std::filesystem::path& path);

// A file written in parts that replaces `path` only when committed, as write_file_atomic does:
// a temporary file in the same directory (hidden, named for `path`), fsynced, renamed over
// `path`, the directory fsynced. Destroyed uncommitted, it removes the temporary file.
class AtomicFile {
 public:
  // Creates missing parent directories and the temporary file.
  static Result<AtomicFile> create(const std::filesystem::path& path, int mode = 0644);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  Status write(std::string_view data);
  // Gives the file exactly `mode` (create's mode passes through the umask; a copy that keeps a
  // file's mode must not).
  Status set_mode(int mode);
  Status commit();
  // Where the parts are written until commit() (".NAME.tmpNNN" beside the path).
  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  AtomicFile(std::filesystem::path path, std::filesystem::path temp, int fd);

  std::filesystem::path path_;
  std::filesystem::path temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// Reads a whole file; kTooLarge when it is over max_bytes, kNotFound when it does not exist.
Result<std::string> read_file(const std::filesystem::path& path,
                              size_t max_bytes = 64 * 1024 * 1024);

// The room left on the file system that holds `path`, as an unprivileged writer sees it.
struct FileSystemRoom {
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
  uint64_t free_inodes = 0;
};
// nullopt when the file system cannot be asked (statvfs failed).
std::optional<FileSystemRoom> file_system_room(const std::filesystem::path& path);
// "0 KiB free of 20 GiB, 1203 inodes free".
std::string describe(const FileSystemRoom& room);

// Creates `dir` (and parents) if missing and makes it mode 0700. Fails when it exists and is
// not a directory, or is owned by someone else.
Status ensure_private_dir(const std::filesystem::path& dir);

// An absolute, lexically normal form of p (relative to the current directory).
std::filesystem::path absolute_path(const std::filesystem::path& p);

}  // namespace pl
