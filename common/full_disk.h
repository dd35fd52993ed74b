// A full disk under a process's database (broker.db, registry.db). A process that cannot open or
// commit its database stops, to be started again from what is durable; but on a full disk each
// start fails the same way, again and again, until the supervisor gives up on the whole tree.
// So such a failure is recognised, and the process waits for room first: before it is ready
// (wait_for_room_before_start, which then starts it over in place), or while it runs (the broker's
// BrokerShell::wait_for_room, which answers clients meanwhile; the registry stays up and answers
// 301 by itself).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace pl {

// Free space the database's file system needs before the process starts (again), or a tenth of
// a smaller one: enough for a recovery's first commits and a while of work, so that it does not
// stop again at once.
inline constexpr uint64_t kRoomToRestart = 64ull << 20;

// Whether a store failure (its message) says the disk is full while the file system at `dir`
// has no room (has_room): then waiting for room helps. A failure for another reason, or with
// room left (the file's own page limit), is not helped by waiting.
bool waiting_for_room_helps(const std::string& failure, const std::filesystem::path& dir);

// Whether the file system at `dir` has kRoomToRestart free (a tenth of it, when that is less)
// and a free inode; `said` gets its room as words ("12 MiB free of 20 GiB, 1203 inodes free";
// "its room unknown").
bool has_room(const std::filesystem::path& dir, std::string* said = nullptr);

// A wait for room, checked once a second or so: check() is true once `dir` has room, which it
// logs with what the broker does `then`; until then it logs each minute how much room there is.
class RoomWatch {
 public:
  explicit RoomWatch(std::filesystem::path dir);
  bool check(std::string_view then);

 private:
  std::filesystem::path dir_;
  std::chrono::steady_clock::time_point next_log_;
};

// Before the process is ready (no socket bound yet, so no client can be told): logs `why`, then
// waits until `dir` has room, asking the supervisor for more time to become ready as it goes and
// logging every minute. Then it starts the program again in this process (execv of itself with
// `argv`, main's), so that its supervisor sees one long start, even during the tree's first
// start, when a child that exits before it is ready stops the tree. Returns 0 on SIGTERM or
// SIGINT on `signal_fd`, EX_TEMPFAIL if it cannot exec. `what`: the process ("the broker").
// Every descriptor the process holds must be close-on-exec.
int wait_for_room_before_start(const std::filesystem::path& dir, const std::string& why,
                               std::string_view what, int signal_fd, char* const* argv);

}  // namespace pl
