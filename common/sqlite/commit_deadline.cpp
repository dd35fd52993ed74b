#include "common/sqlite/commit_deadline.h"

namespace pl::sqlite {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

CommitDeadline::CommitDeadline(std::string database, int exit_code,
                               std::chrono::steady_clock::duration deadline,
                               std::function<void()> on_stuck)
    : deadline_(deadline), on_stuck_(std::move(on_stuck)) {
  if (!on_stuck_) {
    on_stuck_ = [database = std::move(database), exit_code] { exit_for_stuck_sync(database, exit_code); };
  }
  thread_ = std::thread([this] { watch(); });
}

CommitDeadline::~CommitDeadline() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void CommitDeadline::begin() { started_ns_.store(now_ns(), std::memory_order_relaxed); }

void CommitDeadline::end() { started_ns_.store(0, std::memory_order_relaxed); }

void CommitDeadline::watch() {
  const int64_t deadline_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline_).count();
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, deadline_ / 4, [this] { return stopping_; })) {
    const int64_t started = started_ns_.load(std::memory_order_relaxed);
    if (started != 0 && now_ns() - started > deadline_ns) {
      on_stuck_();
      return;  // once: what follows is the owner's (the default never returns)
    }
    checks_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace pl::sqlite
