// Runs a store's sync() on its own thread, so that the loop applies and commits the next batch
// while the previous ones are being made durable (overlapped group commit; deferred_wal_sync.h).
//
// The loop numbers its commits (generations 1, 2, ...) and calls request(g) after commit g; the
// syncer then runs sync() — one at a time, each covering every commit made before it started —
// and when one finishes, durable() reaches the newest generation it covered and notify_fd()
// becomes readable. A failed sync is reported once by durable() and stops the syncer: the loop
// must not acknowledge anything more (it exits and the supervisor restarts it). A sync that does
// not return within its deadline (a disk that stopped answering) makes stuck() true: the loop
// then ends the process with exit_for_stuck_sync rather than hold its replies forever.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "common/result.h"

namespace pl::sqlite {

// How long one sync may take before its disk is given up on.
inline constexpr std::chrono::seconds kSyncDeadline{60};

class DurabilitySyncer {
 public:
  // Starts the thread, which calls `sync` (making every commit before the call durable).
  explicit DurabilitySyncer(std::function<Status()> sync,
                            std::chrono::steady_clock::duration deadline = kSyncDeadline);
  // Lets a sync in progress finish, then joins the thread.
  ~DurabilitySyncer();
  DurabilitySyncer(const DurabilitySyncer&) = delete;
  DurabilitySyncer& operator=(const DurabilitySyncer&) = delete;

  // Commits up to `generation` want to be durable. Generations only grow.
  void request(uint64_t generation);
  // Readable (an eventfd) when durable() has news.
  int notify_fd() const { return event_fd_; }
  // Clears the notification; the newest generation known durable, or the sync's error.
  Result<uint64_t> durable();
  // A sync is running (the loop should wake now and then to check stuck()).
  bool busy();
  // The running sync has taken longer than the deadline.
  bool stuck();

 private:
  void run();

  std::function<Status()> sync_;
  const std::chrono::steady_clock::duration deadline_;
  int event_fd_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  uint64_t requested_ = 0;
  uint64_t durable_ = 0;
  bool stopping_ = false;
  std::optional<std::chrono::steady_clock::time_point> busy_since_;  // while a sync runs
  std::optional<Error> error_;
  std::thread thread_;
};

// Ends the process at once with `exit_code`, saying that `database`'s sync (or commit) is
// stuck. Not a return: a thread waiting in fdatasync cannot be stopped or joined, so destructors
// would hang too. Nothing waiting for that sync was acknowledged; the supervisor restarts the
// process (and escalates if the disk stays gone).
[[noreturn]] void exit_for_stuck_sync(std::string_view database, int exit_code);

}  // namespace pl::sqlite
