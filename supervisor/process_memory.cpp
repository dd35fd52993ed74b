#include "supervisor/process_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <string>

namespace pl::supervisor {

std::optional<uint64_t> parse_status_rss(std::string_view text) {
  constexpr std::string_view kKey = "VmRSS:";
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, kKey.size()) != kKey) continue;
    line.remove_prefix(kKey.size());
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) {
      line.remove_prefix(1);
    }
    uint64_t kib = 0;
    size_t digits = 0;
    for (; digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]));
         ++digits) {
      if (kib > UINT64_MAX / 10 / 1024) return std::nullopt;
      kib = kib * 10 + static_cast<uint64_t>(line[digits] - '0');
    }
    if (digits == 0) return std::nullopt;
    line.remove_prefix(digits);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) {
      line.remove_prefix(1);
    }
    if (line.substr(0, 2) != "kB") return std::nullopt;  // the kernel always says kB
    return kib * 1024;
  }
  return std::nullopt;
}

Result<uint64_t> read_rss_bytes(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ESRCH) {
      return make_error(ErrorCode::kNotFound, path + ": no such process");
    }
    return errno_error("open " + path, err);
  }
  // The status file is a few KiB; read it whole, bounded.
  std::string text;
  char buf[4096];
  for (int i = 0; i < 16; ++i) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return errno_error("read " + path, err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto rss = parse_status_rss(text);
  if (!rss) {
    return make_error(ErrorCode::kIo, path + " has no VmRSS line (the process is exiting)");
  }
  return *rss;
}

}  // namespace pl::supervisor
