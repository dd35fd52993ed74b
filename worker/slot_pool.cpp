#include "worker/slot_pool.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "worker/item_run.h"

namespace pl::worker {

SlotPool::SlotPool(size_t slots, const ExecutorTable& executors, const Clock& clock)
    : executors_(executors), clock_(clock), event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (event_fd_ < 0) spdlog::critical("slot pool: eventfd failed; finished items go unnoticed");
  for (size_t i = 0; i < slots; ++i) threads_.emplace_back([this] { run_slot(); });
}

SlotPool::~SlotPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, token] : tokens_) token->cancel("worker stopping");
  }
  work_ready_.notify_all();
  for (auto& t : threads_) t.join();
  if (event_fd_ >= 0) ::close(event_fd_);
}

void SlotPool::start(protocol::WorkItem&& item, TimePoint deadline) {
  StepExecutor* executor = executors_.find(item.step_type);
  if (!executor || executor->runs_inline(item)) {
    // Nothing can cancel it: it is over before the loop reads another message.
    const CancelToken never_cancelled;
    FinishedItem result =
        run_item(executor, item, ExecutionContext{never_cancelled, deadline}, clock_);
    std::lock_guard lock(mutex_);
    add_finished(std::move(result), /*signal=*/false);
    return;
  }
  auto token = std::make_shared<CancelToken>();
  {
    std::lock_guard lock(mutex_);
    tokens_[item.item_id] = token;
    pending_.push_back(Job{std::move(item), deadline, std::move(token), executor});
  }
  work_ready_.notify_one();
}

void SlotPool::cancel(const std::string& item_id, uint32_t attempt, const std::string& reason) {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(item_id);
  if (it != tokens_.end()) it->second->cancel(reason);
  (void)attempt;  // one attempt of an item runs here at a time; the id is enough
}

std::vector<FinishedItem> SlotPool::take_finished() {
  std::lock_guard lock(mutex_);
  if (signalled_) {
    // Read under the lock: a slot thread writes under it too, so the eventfd is readable
    // exactly while signalled_ is set, and never stays readable with nothing to take.
    uint64_t count;
    if (::read(event_fd_, &count, sizeof count) < 0) {
      spdlog::error("slot pool: cannot clear the finished-items eventfd");
    }
    signalled_ = false;
  }
  return std::exchange(finished_, {});
}

void SlotPool::add_finished(FinishedItem result, bool signal) {
  finished_.push_back(std::move(result));
  if (!signal || signalled_) return;
  const uint64_t one = 1;
  if (::write(event_fd_, &one, sizeof one) < 0) {
    spdlog::error("slot pool: cannot signal a finished item: eventfd write failed");
    return;
  }
  signalled_ = true;
}

void SlotPool::run_slot() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (stopping_) return;
    Job job = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();

    FinishedItem result =
        run_item(job.executor, job.item, ExecutionContext{*job.cancel, job.deadline}, clock_);

    lock.lock();
    auto it = tokens_.find(job.item.item_id);
    if (it != tokens_.end() && it->second == job.cancel) tokens_.erase(it);
    add_finished(std::move(result), /*signal=*/true);
  }
}

}  // namespace pl::worker
