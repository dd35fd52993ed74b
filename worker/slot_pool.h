// The threads that run items: one per slot. The main loop hands items in with start(), learns of
// finished ones through notify_fd() (an eventfd in its poll set) and take_finished(), and may
// cancel a running item. Executors run here, never on the main loop's thread, so heartbeats go
// on while a long item runs. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/protocol/work.h"
#include "worker/cancel_token.h"
#include "worker/executor.h"

namespace pl::worker {

class SlotPool {
 public:
  // REQUIRES: slots >= 1. `executors` and `clock` outlive the pool.
  SlotPool(size_t slots, const ExecutorTable& executors, const Clock& clock);
  // Cancels whatever runs and joins the threads; an executor that ignores cancellation delays
  // this, which is why the supervisor's shutdown timeout ends in SIGKILL.
  ~SlotPool();

  void start(protocol::WorkItem item, TimePoint deadline);
  void cancel(const std::string& item_id, uint32_t attempt, const std::string& reason);

  // Readable while finished results wait to be taken.
  int notify_fd() const { return event_fd_; }
  std::vector<protocol::WorkResult> take_finished();

 private:
  struct Job {
    protocol::WorkItem item;
    TimePoint deadline;
    std::shared_ptr<CancelToken> cancel;
  };

  void run_slot();
  protocol::WorkResult execute(const Job& job);

  const ExecutorTable& executors_;
  const Clock& clock_;
  int event_fd_ = -1;

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<Job> pending_;
  std::map<std::string, std::shared_ptr<CancelToken>> tokens_;  // by item id
  std::vector<protocol::WorkResult> finished_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pl::worker
