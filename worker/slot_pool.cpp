#include "worker/slot_pool.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace pl::worker {

SlotPool::SlotPool(size_t slots, const ExecutorTable& executors, const Clock& clock)
    : executors_(executors), clock_(clock), event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
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

void SlotPool::start(protocol::WorkItem item, TimePoint deadline) {
  auto token = std::make_shared<CancelToken>();
  {
    std::lock_guard lock(mutex_);
    tokens_[item.item_id] = token;
    pending_.push_back(Job{std::move(item), deadline, std::move(token)});
  }
  work_ready_.notify_one();
}

void SlotPool::cancel(const std::string& item_id, uint32_t attempt, const std::string& reason) {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(item_id);
  if (it != tokens_.end()) it->second->cancel(reason);
  (void)attempt;  // one attempt of an item runs here at a time; the id is enough
}

std::vector<protocol::WorkResult> SlotPool::take_finished() {
  uint64_t count;
  while (::read(event_fd_, &count, sizeof count) > 0) {
  }
  std::lock_guard lock(mutex_);
  return std::exchange(finished_, {});
}

void SlotPool::run_slot() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      job = std::move(pending_.front());
      pending_.pop_front();
    }
    protocol::WorkResult result = execute(job);
    {
      std::lock_guard lock(mutex_);
      auto it = tokens_.find(job.item.item_id);
      if (it != tokens_.end() && it->second == job.cancel) tokens_.erase(it);
      finished_.push_back(std::move(result));
    }
    const uint64_t one = 1;
    if (::write(event_fd_, &one, sizeof one) < 0) {
      spdlog::error("slot pool: cannot signal a finished item: eventfd write failed");
    }
  }
}

protocol::WorkResult SlotPool::execute(const Job& job) {
  const TimePoint started = clock_.now();
  const int64_t started_ms = unix_millis(clock_.wall_now());
  protocol::WorkResult out;
  out.item_id = job.item.item_id;
  out.attempt = job.item.attempt;

  Result<Value> fields = make_error(ErrorCode::kInternal, "not run");
  if (StepExecutor* executor = executors_.find(job.item.step_type)) {
    try {
      fields = executor->execute(job.item, ExecutionContext{*job.cancel, job.deadline});
    } catch (const std::exception& e) {
      // An executor bug must not take the worker down with the other slots' items.
      fields = make_error(ErrorCode::kInternal, std::string("executor threw: ") + e.what());
    }
  } else {
    fields = make_error(ErrorCode::kInvalidInput,
                        "step type \"" + job.item.step_type + "\" is not supported by this worker");
  }

  Value& result = out.result;
  if (fields.ok()) {
    result = std::move(*fields);
    if (!result.is_object()) result = Value::object();
    result["success"] = true;
  } else {
    result = Value::object();
    result["success"] = false;
    result["error"] = fields.error().message;
    result["error_code"] = std::string(error_code_name(fields.error().code));
  }
  result["duration_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started).count();
  result["started_ms"] = started_ms;  // wall clock: when this attempt began here
  return out;
}

}  // namespace pl::worker
