#include "bench/disk_flush.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

namespace pl::bench {

std::optional<DiskFlush> measure_disk_flush(const std::filesystem::path& dir, int rounds) {
  constexpr size_t kPage = 4096;
  constexpr int kPages = 64;  // rewritten in turn: the file's size, hence its inode, stays put
  const std::filesystem::path path = dir / "disk-flush-probe";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return std::nullopt;
  std::array<char, kPage> page;
  page.fill('x');
  bool ok = true;
  for (int i = 0; i < kPages && ok; ++i) {
    ok = ::pwrite(fd, page.data(), kPage, static_cast<off_t>(i * kPage)) ==
         static_cast<ssize_t>(kPage);
  }
  ok = ok && ::fsync(fd) == 0;
  std::vector<double> us;
  for (int i = 0; i < rounds && ok; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ok = ::pwrite(fd, page.data(), kPage, static_cast<off_t>((i % kPages) * kPage)) ==
             static_cast<ssize_t>(kPage) &&
         ::fdatasync(fd) == 0;
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (!ok || us.empty()) return std::nullopt;
  std::sort(us.begin(), us.end());
  return DiskFlush{us[us.size() / 2], us[std::min(us.size() - 1, us.size() * 99 / 100)]};
}

}  // namespace pl::bench
