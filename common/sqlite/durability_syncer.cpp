#include "common/sqlite/durability_syncer.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>

namespace pl::sqlite {

DurabilitySyncer::DurabilitySyncer(std::function<Status()> sync,
                                   std::chrono::steady_clock::duration deadline)
    : sync_(std::move(sync)), deadline_(deadline), event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
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

bool DurabilitySyncer::busy() {
  std::lock_guard lock(mutex_);
  return busy_since_.has_value();
}

bool DurabilitySyncer::stuck() {
  std::lock_guard lock(mutex_);
  return busy_since_ && std::chrono::steady_clock::now() - *busy_since_ > deadline_;
}

void DurabilitySyncer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || requested_ > durable_; });
    if (stopping_) return;
    const uint64_t covering = requested_;  // every commit up to here happened before this sync
    busy_since_ = std::chrono::steady_clock::now();
    lock.unlock();
    Status synced = sync_();
    lock.lock();
    busy_since_.reset();
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

void exit_for_stuck_sync(std::string_view database, int exit_code) {
  spdlog::critical("{}: a sync or commit has not returned in {} s; the disk does not answer. "
                   "Exiting without acknowledging what waits for it",
                   database,
                   std::chrono::duration_cast<std::chrono::seconds>(kSyncDeadline).count());
  spdlog::shutdown();  // flushes the log: _Exit does not
  std::_Exit(exit_code);
}

}  // namespace pl::sqlite
