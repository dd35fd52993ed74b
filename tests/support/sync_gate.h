// A stand-in for a disk sync in tests of the loops that overlap durability: wait() blocks until
// the test opens the gate (the sync succeeds) or makes it fail (the sync fails).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>

#include "common/result.h"

namespace pl::test {

class SyncGate {
 public:
  explicit SyncGate(std::string failure) : failure_(std::move(failure)) {}

  // Called by the store's sync(), on the syncer's thread.
  Status wait() {
    std::unique_lock lock(mutex_);
    ++syncs_started_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_ || failing_; });
    if (failing_) return make_error(ErrorCode::kIo, failure_);
    return ok_status();
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void fail() {
    std::lock_guard lock(mutex_);
    failing_ = true;
    changed_.notify_all();
  }
  int syncs_started() {
    std::lock_guard lock(mutex_);
    return syncs_started_;
  }

 private:
  const std::string failure_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  bool failing_ = false;
  int syncs_started_ = 0;
};

}  // namespace pl::test
