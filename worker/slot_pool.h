// Where items run. An item whose executor says it is instant (StepExecutor::runs_inline) runs at
// once on the thread that calls start(), which is the main loop's: cheap in-memory steps skip
// two thread hand-offs. Every other item runs on one of `slots` threads, so heartbeats go on while
// a long item runs. The main loop learns of finished threaded items through notify_fd() (an
// eventfd in its poll set), takes every finished result, inline ones included, with
// take_finished(), and may cancel a running item. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/protocol/work.h"
#include "worker/cancel_token.h"
#include "worker/executor.h"
#include "worker/item_run.h"

namespace pl::worker {

class SlotPool {
 public:
  // REQUIRES: slots >= 1. `executors` and `clock` outlive the pool.
  SlotPool(size_t slots, const ExecutorTable& executors, const Clock& clock);
  // Cancels whatever runs and joins the threads; an executor that ignores cancellation delays
  // this, which is why the supervisor's shutdown timeout ends in SIGKILL.
  ~SlotPool();

  // Runs `item` until `deadline` (its executor sees it; the caller cancels at it). Inline items
  // (and items of a type with no executor, which fail at once) have finished when this returns;
  // the others wait for a free slot thread.
  void start(protocol::WorkItem&& item, TimePoint deadline);
  // Cancels the item if it runs on a slot thread; no effect otherwise (an inline item is over).
  void cancel(const std::string& item_id, uint32_t attempt, const std::string& reason);

  // Readable while results of slot threads wait to be taken. Inline results do not make it
  // readable: the caller knows it ran them and takes them after start() returns.
  int notify_fd() const { return event_fd_; }
  // Every result finished since the last call, in the order the items finished. Never blocks.
  std::vector<FinishedItem> take_finished();

 private:
  struct Job {
    protocol::WorkItem item;
    TimePoint deadline;
    std::shared_ptr<CancelToken> cancel;
    StepExecutor* executor = nullptr;
  };

  void run_slot();
  // REQUIRES: mutex_ held. Appends a result; signals the eventfd when the list was empty.
  void add_finished(FinishedItem result, bool signal);

  const ExecutorTable& executors_;
  const Clock& clock_;
  int event_fd_ = -1;

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<Job> pending_;
  std::unordered_map<std::string, std::shared_ptr<CancelToken>> tokens_;  // threaded, by item id
  std::vector<FinishedItem> finished_;
  bool signalled_ = false;  // the eventfd is readable (written, not yet read)
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pl::worker
