#include "common/full_disk.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "common/fs.h"
#include "common/service_notify.h"
#include "common/signals.h"

namespace pl {

namespace {

constexpr auto kCheckEvery = std::chrono::seconds(1);
constexpr auto kLogEvery = std::chrono::seconds(60);

// SQLite's message for SQLITE_FULL, and the system's for ENOSPC (a failed sync).
bool says_disk_full(const std::string& message) {
  return message.find("database or disk is full") != std::string::npos ||
         message.find("No space left on device") != std::string::npos;
}

bool enough(const FileSystemRoom& room) {
  return room.free_bytes >= std::min(kRoomToRestart, room.total_bytes / 10) && room.free_inodes > 0;
}

}  // namespace

bool has_room(const std::filesystem::path& dir, std::string* said) {
  const auto room = file_system_room(dir);
  if (said) *said = room ? describe(*room) : std::string("its room unknown");
  return room && enough(*room);
}

bool waiting_for_room_helps(const std::string& failure, const std::filesystem::path& dir) {
  if (!says_disk_full(failure)) return false;
  // A file system that cannot be asked is not waited for: nothing would tell when to stop.
  const auto room = file_system_room(dir);
  return room && !enough(*room);
}

RoomWatch::RoomWatch(std::filesystem::path dir)
    : dir_(std::move(dir)), next_log_(std::chrono::steady_clock::now() + kLogEvery) {}

bool RoomWatch::check(std::string_view then) {
  std::string room;
  if (has_room(dir_, &room)) {
    spdlog::info("{} has room again ({}): {}", dir_.string(), room, then);
    return true;
  }
  if (std::chrono::steady_clock::now() >= next_log_) {
    spdlog::warn("still waiting for free space in {} ({})", dir_.string(), room);
    next_log_ = std::chrono::steady_clock::now() + kLogEvery;
  }
  return false;
}

int wait_for_room_before_start(const std::filesystem::path& dir, const std::string& why,
                               std::string_view what, int signal_fd, char* const* argv) {
  spdlog::critical("{}: {} waits for free space in {} before it starts; nothing accepted is lost",
                   why, what, dir.string());
  notify_status("waiting for free space in " + dir.string());
  RoomWatch watch(dir);
  for (;;) {
    // Each second asks for more time: the supervisor would take a start this long for a hang.
    notify_extend_timeout(std::chrono::seconds(30));
    pollfd signals{signal_fd, POLLIN, 0};
    const int ready = ::poll(&signals, 1, std::chrono::milliseconds(kCheckEvery).count());
    if (ready < 0 && errno != EINTR) {
      spdlog::critical("poll: {}", errno_error("poll", errno).message);
      return EX_SOFTWARE;
    }
    if (ready > 0) {
      for (int sig : read_signals(signal_fd)) {
        if (sig == SIGTERM || sig == SIGINT) {
          spdlog::info("stopping on signal {} while waiting for free space in {}", sig,
                       dir.string());
          return 0;
        }
      }
    }
    if (!watch.check("starting again")) continue;
    // Over again in this process: to its supervisor, one start that took longer. Exiting for
    // it to start us again would not do during the tree's first start, which a child that
    // exits before it is ready fails as a whole. Our descriptors close on exec.
    ::execv("/proc/self/exe", argv);
    spdlog::error("cannot start again in place: {}; exiting to be started again",
                  errno_error("execv /proc/self/exe", errno).message);
    return EX_TEMPFAIL;
  }
}

}  // namespace pl
