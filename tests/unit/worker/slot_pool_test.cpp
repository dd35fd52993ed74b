#include "worker/slot_pool.h"

#include <gtest/gtest.h>
#include <poll.h>

#include "worker/executors/echo_executor.h"

namespace pl::worker {
namespace {

using namespace std::chrono_literals;

// Waits (with a deadline) until the pool's eventfd says results are ready, and takes them.
std::vector<protocol::WorkResult> wait_results(SlotPool& pool, size_t want) {
  std::vector<protocol::WorkResult> got;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    pollfd fd{pool.notify_fd(), POLLIN, 0};
    ::poll(&fd, 1, 100);
    for (auto& r : pool.take_finished()) got.push_back(std::move(r));
  }
  return got;
}

protocol::WorkItem echo(const std::string& id, Value input) {
  return protocol::WorkItem{id, 1, 5000, "run", "s", "echo", std::move(input), Value::object()};
}

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
  EXPECT_TRUE(results[0].result.find("duration_ms"));
  EXPECT_TRUE(results[0].result.find("started_ms"));
}

TEST(SlotPool, AnUnknownStepTypeIsAClearFailure) {
  RealClock clock;
  ExecutorTable executors;
  SlotPool pool(1, executors, clock);
  auto item = echo("a", Value::object());
  item.step_type = "warp_drive";
  pool.start(item, clock.now() + 5s);
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

}  // namespace
}  // namespace pl::worker
