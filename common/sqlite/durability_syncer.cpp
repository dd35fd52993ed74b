#include "common/sqlite/durability_syncer.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace pl::sqlite {

DurabilitySyncer::DurabilitySyncer(std::function<Status()> sync)
    : sync_(std::move(sync)), event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  thread_ = std::thread([this] { run(); });
}

DurabilitySyncer::~DurabilitySyncer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (event_fd_ >= 0) ::close(event_fd_);
}

void DurabilitySyncer::request(uint64_t generation) {
  {
    std::lock_guard lock(mutex_);
    if (generation <= requested_) return;
    requested_ = generation;
  }
  wake_.notify_one();
}

Result<uint64_t> DurabilitySyncer::durable() {
  uint64_t count;
  while (::read(event_fd_, &count, sizeof count) > 0) {
  }
  std::lock_guard lock(mutex_);
  if (error_) return *error_;
  return durable_;
}

void DurabilitySyncer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || requested_ > durable_; });
    if (stopping_) return;
    const uint64_t covering = requested_;  // every commit up to here happened before this sync
    lock.unlock();
    Status synced = sync_();
    lock.lock();
    if (synced.ok()) {
      durable_ = covering;
    } else {
      error_ = synced.error();
    }
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(event_fd_, &one, sizeof one);  // cannot overflow
    if (error_) return;
  }
}

}  // namespace pl::sqlite
