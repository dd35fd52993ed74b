#include "common/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <utility>

#include "common/byte_size.h"

namespace pl {
namespace fs = std::filesystem;
namespace {

Status write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write " + path.string(), errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok_status();
}

fs::path directory_of(const fs::path& path) {
  return path.has_parent_path() ? path.parent_path() : fs::path(".");
}

}  // namespace

namespace {

Status fsync_opened(const fs::path& path, int flags, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) return errno_error("open " + what + path.string(), errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return errno_error("fsync " + what + path.string(), err);
  return ok_status();
}

}  // namespace

Status fsync_dir(const fs::path& dir) { return fsync_opened(dir, O_DIRECTORY, "directory "); }

Status fsync_file(const fs::path& path) { return fsync_opened(path, 0, ""); }

Result<AtomicFile> AtomicFile::create(const fs::path& path, int mode) {
  const fs::path dir = directory_of(path);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "create directory " + dir.string() + ": " + ec.message());
  std::random_device rd;
  std::string tmp_name = ".";
  tmp_name.append(path.filename().string()).append(".tmp").append(std::to_string(rd()));
  fs::path temp = dir / tmp_name;
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return errno_error("create " + temp.string(), errno);
  return AtomicFile(path, std::move(temp), fd);
}

AtomicFile::AtomicFile(fs::path path, fs::path temp, int fd)
    : path_(std::move(path)), temp_(std::move(temp)), fd_(fd) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_(std::move(other.temp_)),
      fd_(std::exchange(other.fd_, -1)),
      committed_(std::exchange(other.committed_, true)) {}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

Status AtomicFile::write(std::string_view data) { return write_all(fd_, data, temp_); }

Status AtomicFile::set_mode(int mode) {
  if (::fchmod(fd_, static_cast<mode_t>(mode)) != 0) {
    return errno_error("chmod " + temp_.string(), errno);
  }
  return ok_status();
}

Status AtomicFile::commit() {
  if (::fsync(fd_) != 0) return errno_error("fsync " + temp_.string(), errno);
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) return errno_error("close " + temp_.string(), errno);
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    return errno_error("rename " + temp_.string() + " to " + path_.string(), errno);
  }
  committed_ = true;
  return fsync_dir(directory_of(path_));
}

Status write_file_atomic(const fs::path& path, std::string_view data, int mode) {
  auto file = AtomicFile::create(path, mode);
  if (!file.ok()) return std::move(file).error();
  if (auto st = file->write(data); !st.ok()) return st;
  return file->commit();
}

Result<std::string> read_file(const fs::path& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return make_error(ErrorCode::kNotFound, path.string() + ": no such file");
    return errno_error("open " + path.string(), err);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return errno_error("read " + path.string(), err);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return make_error(ErrorCode::kTooLarge, path.string() + " is larger than " +
                                                  std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::optional<FileSystemRoom> file_system_room(const fs::path& path) {
  struct statvfs vfs {};
  if (::statvfs(path.c_str(), &vfs) != 0) return std::nullopt;
  const auto bytes = [&](fsblkcnt_t blocks) {
    return static_cast<uint64_t>(blocks) * static_cast<uint64_t>(vfs.f_frsize);
  };
  return FileSystemRoom{bytes(vfs.f_bavail), bytes(vfs.f_blocks),
                        static_cast<uint64_t>(vfs.f_favail)};
}

std::string describe(const FileSystemRoom& room) {
  return format_bytes(room.free_bytes) + " free of " + format_bytes(room.total_bytes) + ", " +
         std::to_string(room.free_inodes) + " inodes free";
}

Status ensure_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "create directory " + dir.string() + ": " + ec.message());
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return errno_error("stat " + dir.string(), errno);
  if (!S_ISDIR(st.st_mode)) {
    return make_error(ErrorCode::kInvalidInput, dir.string() + " exists and is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return make_error(ErrorCode::kInvalidInput,
                      dir.string() + " is owned by uid " + std::to_string(st.st_uid) +
                          ", not by us (uid " + std::to_string(::geteuid()) + ")");
  }
  if ((st.st_mode & 0777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) {
    return errno_error("chmod 0700 " + dir.string(), errno);
  }
  return ok_status();
}

fs::path absolute_path(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) abs = p;
  return abs.lexically_normal();
}

}  // namespace pl
