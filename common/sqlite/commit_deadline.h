// Bounds a commit, as DurabilitySyncer bounds a deferred sync: a commit may wait on the disk
// (the fsync of synchronous=FULL, a checkpoint's fsyncs in every mode), and the loop that called
// it cannot notice a disk that stopped answering while it waits, so a watcher thread does. When
// one commit has run longer than the deadline it calls `on_stuck` (by default
// exit_for_stuck_sync: the process ends, nothing waiting for that commit was acknowledged, and
// the supervisor restarts it).
//
// begin() and end() are two atomic stores: no lock, no wake-up of the watcher, which looks every
// quarter of the deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/sqlite/durability_syncer.h"

namespace pl::sqlite {

class CommitDeadline {
 public:
  // `database` and `exit_code` are what the default `on_stuck` exits with.
  CommitDeadline(std::string database, int exit_code,
                 std::chrono::steady_clock::duration deadline = kSyncDeadline,
                 std::function<void()> on_stuck = {});
  ~CommitDeadline();
  CommitDeadline(const CommitDeadline&) = delete;
  CommitDeadline& operator=(const CommitDeadline&) = delete;

  void begin();  // a commit starts
  void end();    // it returned
  // How many times the watcher has looked (for tests: that it looked past a deadline).
  uint64_t checks() const { return checks_.load(std::memory_order_relaxed); }

 private:
  void watch();

  const std::chrono::steady_clock::duration deadline_;
  std::function<void()> on_stuck_;
  std::atomic<int64_t> started_ns_{0};  // steady clock; 0 while no commit runs
  std::atomic<uint64_t> checks_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pl::sqlite
