#include "worker/slot_pool.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <future>
#include <mutex>
#include <thread>

#include "worker/executors/echo_executor.h"
#include "worker/executors/set_variable_executor.h"
#include "worker/worker_core.h"

namespace pl::worker {
namespace {

using namespace std::chrono_literals;

// Waits (with a deadline) until the pool's eventfd says results are ready, and takes them.
std::vector<FinishedItem> wait_results(SlotPool& pool, size_t want) {
  std::vector<FinishedItem> got;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    pollfd fd{pool.notify_fd(), POLLIN, 0};
    ::poll(&fd, 1, 100);
    for (auto& r : pool.take_finished()) got.push_back(std::move(r));
  }
  return got;
}

protocol::WorkItem echo(const std::string& id, Value input) {
  return protocol::WorkItem{id,      1,           5000, "run", "s", "echo", std::move(input),
                            nullptr, std::nullopt};
}

protocol::WorkItem of_type(const std::string& id, const std::string& type) {
  return protocol::WorkItem{id, 1, 5000, "run", "s", type, Value::object(), nullptr, std::nullopt};
}

bool notify_fd_readable(const SlotPool& pool, std::chrono::milliseconds wait = 0ms) {
  pollfd fd{pool.notify_fd(), POLLIN, 0};
  return ::poll(&fd, 1, static_cast<int>(wait.count())) == 1;
}

// Records the thread it ran on. Blocking ones (runs_inline false) wait until released.
class ProbeExecutor final : public StepExecutor {
 public:
  explicit ProbeExecutor(bool instant) : instant_(instant) {}
  bool runs_inline(const protocol::WorkItem&) const override { return instant_; }
  Result<Value> execute(const protocol::WorkItem&, const ExecutionContext&) override {
    ran_on_.set_value(std::this_thread::get_id());
    if (!instant_) release_.get_future().wait();
    Value out;
    out["probe"] = true;
    return out;
  }
  std::future<std::thread::id> ran_on() { return ran_on_.get_future(); }
  void release() {
    std::call_once(released_, [this] { release_.set_value(); });
  }

 private:
  bool instant_;
  std::once_flag released_;
  std::promise<std::thread::id> ran_on_;
  std::promise<void> release_;
};

// A blocking probe registered as "probe"; `ran_on` is ready once an item has started on it.
struct BlockingProbe {
  ProbeExecutor& probe;
  std::future<std::thread::id> ran_on;
};
BlockingProbe add_blocking_probe(ExecutorTable& executors) {
  auto probe = std::make_unique<ProbeExecutor>(/*instant=*/false);
  ProbeExecutor& added = *probe;
  auto ran_on = probe->ran_on();
  executors.add("probe", std::move(probe));
  return {added, std::move(ran_on)};
}

// Releases a blocking probe when the test ends, even when it ends early, so that the pool's
// destructor does not wait forever for its slot thread.
struct ReleaseAtEnd {
  ProbeExecutor& probe;
  ~ReleaseAtEnd() { probe.release(); }
};

TEST(SlotPool, RunsAnItemAndReportsItsResultWithTiming) {
  RealClock clock;
  ExecutorTable executors;
  executors.add("echo", std::make_unique<EchoExecutor>());
  SlotPool pool(2, executors, clock);
  pool.start(echo("a", Value(Value::Object{{"value", Value("hi")}})), clock.now() + 5s);
  auto results = wait_results(pool, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].result.get_bool("success"));
  EXPECT_EQ(results[0].result.get_string("text"), "hi");
  // When and how long it ran, stamped into the result as the worker sends it.
  ASSERT_TRUE(results[0].timing.has_value());
  EXPECT_GT(results[0].timing->started_ms, 1700000000000);
  EXPECT_GE(results[0].timing->duration_ms, 0);
}

TEST(SlotPool, AnUnknownStepTypeIsAClearFailure) {
  RealClock clock;
  ExecutorTable executors;
  SlotPool pool(1, executors, clock);
  auto item = echo("a", Value::object());
  item.step_type = "warp_drive";
  pool.start(std::move(item), clock.now() + 5s);
  auto results = wait_results(pool, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].result.get_bool("success"));
  EXPECT_NE(results[0].result.get_string("error").find("warp_drive"), std::string::npos);
}

TEST(SlotPool, CancelStopsADelayedItemEarly) {
  RealClock clock;
  ExecutorTable executors;
  executors.add("echo", std::make_unique<EchoExecutor>());
  SlotPool pool(1, executors, clock);
  pool.start(echo("slow", Value(Value::Object{{"delay_ms", Value(60000)}})), clock.now() + 120s);
  pool.cancel("slow", 1, "test");
  auto results = wait_results(pool, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result.get_string("error_code"), "cancelled");
}

TEST(SlotPool, AnInlineItemHasFinishedOnTheCallersThreadWhenStartReturns) {
  RealClock clock;
  ExecutorTable executors;
  auto probe = std::make_unique<ProbeExecutor>(/*instant=*/true);
  auto ran_on = probe->ran_on();
  executors.add("probe", std::move(probe));
  SlotPool pool(1, executors, clock);
  pool.start(of_type("a", "probe"), clock.now() + 5s);
  ASSERT_EQ(ran_on.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(ran_on.get(), std::this_thread::get_id());
  EXPECT_FALSE(notify_fd_readable(pool)) << "the caller takes inline results itself";
  auto results = pool.take_finished();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].item_id, "a");
  EXPECT_TRUE(results[0].result.get_bool("success"));
  EXPECT_TRUE(results[0].result.get_bool("probe"));
  // When and how long it ran, stamped into the result as the worker sends it.
  ASSERT_TRUE(results[0].timing.has_value());
  EXPECT_GT(results[0].timing->started_ms, 1700000000000);
  EXPECT_GE(results[0].timing->duration_ms, 0);
  EXPECT_TRUE(pool.take_finished().empty());
}

TEST(SlotPool, ABlockingItemRunsOnASlotThreadAndStartDoesNotWaitForIt) {
  RealClock clock;
  ExecutorTable executors;
  auto [blocking, ran_on] = add_blocking_probe(executors);
  SlotPool pool(1, executors, clock);
  ReleaseAtEnd release_at_end{blocking};
  pool.start(of_type("slow", "probe"), clock.now() + 5s);
  ASSERT_EQ(ran_on.wait_for(10s), std::future_status::ready);
  EXPECT_NE(ran_on.get(), std::this_thread::get_id());
  EXPECT_TRUE(pool.take_finished().empty()) << "still blocked on its slot";
  blocking.release();
  ASSERT_TRUE(notify_fd_readable(pool, 10s)) << "a threaded result wakes the loop";
  auto results = pool.take_finished();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].item_id, "slow");
  EXPECT_TRUE(results[0].result.get_bool("probe"));
}

TEST(SlotPool, InlineItemsFinishWhileEverySlotThreadIsBusy) {
  RealClock clock;
  ExecutorTable executors;
  auto [blocking, ran_on] = add_blocking_probe(executors);
  executors.add("echo", std::make_unique<EchoExecutor>());
  SlotPool pool(1, executors, clock);
  ReleaseAtEnd release_at_end{blocking};
  pool.start(of_type("slow", "probe"), clock.now() + 5s);
  ASSERT_EQ(ran_on.wait_for(10s), std::future_status::ready);
  pool.start(echo("quick", Value(Value::Object{{"value", Value("hi")}})), clock.now() + 5s);
  auto quick = pool.take_finished();
  ASSERT_EQ(quick.size(), 1u);
  EXPECT_EQ(quick[0].item_id, "quick");
  EXPECT_EQ(quick[0].result.get_string("text"), "hi");
  blocking.release();
  auto slow = wait_results(pool, 1);
  ASSERT_EQ(slow.size(), 1u);
  EXPECT_EQ(slow[0].item_id, "slow");
}

TEST(SlotPool, TheNotifyFdIsQuietOnceEveryThreadedResultIsTaken) {
  RealClock clock;
  ExecutorTable executors;
  executors.add("echo", std::make_unique<EchoExecutor>());
  SlotPool pool(2, executors, clock);
  for (const char* id : {"a", "b", "c"}) {
    pool.start(echo(id, Value(Value::Object{{"delay_ms", Value(1)}})), clock.now() + 5s);
  }
  auto results = wait_results(pool, 3);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(notify_fd_readable(pool));
  pool.start(echo("d", Value(Value::Object{{"delay_ms", Value(1)}})), clock.now() + 5s);
  EXPECT_EQ(wait_results(pool, 1).size(), 1u) << "a later result signals again";
}

TEST(SlotPool, AnExecutorThatThrowsFailsOnlyItsItem) {
  class Throwing final : public StepExecutor {
   public:
    bool runs_inline(const protocol::WorkItem&) const override { return true; }
    Result<Value> execute(const protocol::WorkItem&, const ExecutionContext&) override {
      throw std::runtime_error("boom");
    }
  };
  RealClock clock;
  ExecutorTable executors;
  executors.add("throwing", std::make_unique<Throwing>());
  SlotPool pool(1, executors, clock);
  pool.start(of_type("a", "throwing"), clock.now() + 5s);
  auto results = pool.take_finished();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].result.get_bool("success"));
  EXPECT_EQ(results[0].result.get_string("error_code"), "internal");
}

TEST(InstantExecutors, EchoIsInlineUnlessItHasADelayToSleepThrough) {
  EchoExecutor echo_executor;
  EXPECT_TRUE(echo_executor.runs_inline(echo("a", Value(Value::Object{{"value", Value(1)}}))));
  EXPECT_TRUE(echo_executor.runs_inline(echo("a", Value(Value::Object{{"delay_ms", Value(0)}}))));
  EXPECT_FALSE(echo_executor.runs_inline(echo("a", Value(Value::Object{{"delay_ms", Value(5)}}))));
  EXPECT_TRUE(SetVariableExecutor().runs_inline(of_type("a", "set_variable")));
}

// The worker's loop, as WorkerShell runs it: the core's commands carried out against the pool,
// then every finished result handed back to the core. Returns what would be sent to the broker.
std::vector<SendMessage> carry_out(WorkerCore& core, SlotPool& pool,
                                   std::vector<WorkerCommand> commands, TimePoint now) {
  std::vector<SendMessage> sent;
  for (auto& command : commands) {
    if (auto* start = std::get_if<StartItem>(&command)) {
      pool.start(std::move(start->item), start->deadline);
    } else if (auto* send = std::get_if<SendMessage>(&command)) {
      sent.push_back(std::move(*send));
    }
  }
  for (auto& result : pool.take_finished()) {
    for (auto& command : core.on_item_finished(std::move(result), now)) {
      if (auto* send = std::get_if<SendMessage>(&command)) sent.push_back(std::move(*send));
    }
  }
  return sent;
}

uint32_t free_slots_in_next_heartbeat(WorkerCore& core, FakeClock& clock) {
  clock.advance(1s);
  core.on_message({protocol::MessageType::kBrokerHeartbeat, Value::object()}, clock.now());
  for (auto& command : core.on_tick(clock.now())) {
    auto* send = std::get_if<SendMessage>(&command);
    if (send && send->type == protocol::MessageType::kWorkerHeartbeat) {
      auto hb = protocol::heartbeat_from(send->body());
      if (hb.ok()) return hb->free_slots;
    }
  }
  ADD_FAILURE() << "no heartbeat";
  return 0;
}

protocol::Message as_message(const protocol::WorkItem& item) {
  return {protocol::MessageType::kWorkItem, protocol::to_body(item)};
}

TEST(InlineItemsInTheWorkerLoop, SendTheirResultAndGiveTheirCreditBack) {
  FakeClock clock;
  ExecutorTable executors;
  executors.add("echo", std::make_unique<EchoExecutor>());
  auto [blocking, ran_on] = add_blocking_probe(executors);
  SlotPool pool(2, executors, clock);
  ReleaseAtEnd release_at_end{blocking};
  WorkerCore core(WorkerIdentity{"workers.1", 42, "host", 2}, 1s, 3);
  core.on_connected(clock.now());

  auto sent = carry_out(
      core, pool, core.on_message(as_message(of_type("slow", "probe")), clock.now()), clock.now());
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(core.running(), 1u);
  // The slot thread has read the clock it shares with this test before the test advances it.
  ASSERT_EQ(ran_on.wait_for(10s), std::future_status::ready);
  for (const char* id : {"e1", "e2", "e3"}) {
    sent =
        carry_out(core, pool,
                  core.on_message(as_message(echo(id, Value(Value::Object{{"value", Value(id)}}))),
                                  clock.now()),
                  clock.now());
    ASSERT_EQ(sent.size(), 1u) << id;
    EXPECT_EQ(sent[0].type, protocol::MessageType::kWorkResult);
    auto result = protocol::work_result_from(sent[0].body());
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->item_id, id);
    EXPECT_TRUE(result->result.get_bool("success"));
    EXPECT_EQ(core.running(), 1u) << "only the blocking item holds a slot";
  }
  EXPECT_EQ(core.refused_items(), 0u);
  EXPECT_EQ(free_slots_in_next_heartbeat(core, clock), 1u);

  blocking.release();
  auto slow = wait_results(pool, 1);
  ASSERT_EQ(slow.size(), 1u);
  core.on_item_finished(std::move(slow[0]), clock.now());
  EXPECT_EQ(core.running(), 0u);
  EXPECT_EQ(free_slots_in_next_heartbeat(core, clock), 2u);
}

TEST(InlineItemsInTheWorkerLoop, TheDrainingNoticeOfTheLastItemPrecedesItsResult) {
  FakeClock clock;
  ExecutorTable executors;
  executors.add("echo", std::make_unique<EchoExecutor>());
  SlotPool pool(1, executors, clock);
  WorkerCore core(WorkerIdentity{"workers.1", 42, "host", 1}, 1s, 3, /*max_items=*/1);
  core.on_connected(clock.now());
  auto sent =
      carry_out(core, pool, core.on_message(as_message(echo("a", Value::object())), clock.now()),
                clock.now());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].type, protocol::MessageType::kWorkerHeartbeat);
  EXPECT_TRUE(sent[0].body().get_bool("draining"));
  EXPECT_EQ(sent[1].type, protocol::MessageType::kWorkResult);
  EXPECT_EQ(core.running(), 0u);
}

}  // namespace
}  // namespace pl::worker
