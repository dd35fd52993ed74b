// Cooperative cancellation for one running item. The worker's main thread cancels; the executor
// checks cancelled() between pieces of work and waits through wait_for() so that a cancel wakes
// it at once. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace pl::worker {

class CancelToken {
 public:
  void cancel(std::string reason) {
    std::lock_guard lock(mutex_);
    if (cancelled_) return;
    cancelled_ = true;
    reason_ = std::move(reason);
    changed_.notify_all();
  }
  bool cancelled() const {
    std::lock_guard lock(mutex_);
    return cancelled_;
  }
  std::string reason() const {
    std::lock_guard lock(mutex_);
    return reason_;
  }
  // Waits up to `d`; true if cancelled meanwhile.
  bool wait_for(std::chrono::milliseconds d) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, d, [this] { return cancelled_; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool cancelled_ = false;
  std::string reason_;
};

}  // namespace pl::worker
