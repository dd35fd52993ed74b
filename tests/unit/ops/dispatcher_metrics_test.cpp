// The dispatcher's side of metrics and recycling: per-provider results, errors and latency,
// latency buckets, and no credit for a draining worker.
#include <gtest/gtest.h>

#include "broker/dispatcher.h"
#include "common/protocol/work.h"

namespace pl::broker {
namespace {

using protocol::MessageType;
using namespace std::chrono_literals;

class DispatcherMetrics : public ::testing::Test {
 protected:
  DispatcherMetrics() : dispatcher_(DispatchConfig{}, 7) {}

  void hello(const std::string& identity, uint32_t slots) {
    protocol::WorkerHello h{identity, 100, "", slots, Value::array()};
    deliver(identity, MessageType::kWorkerHello, protocol::to_body(h));
  }
  void deliver(const std::string& identity, MessageType type, const Value& body) {
    dispatcher_.on_worker_message(identity, protocol::Message{type, body}, clock_.now());
  }
  void submit(const std::string& id, const std::string& provider = "") {
    WorkSpec spec;
    spec.provider = provider;
    spec.item_id = id;
    spec.run_id = "run";
    spec.step_name = id;
    spec.step_type = "echo";
    spec.timeout_ms = 60000;
    spec.retry.max_attempts = 1;
    dispatcher_.submit(std::move(spec), clock_.now());
  }
  void result(const std::string& identity, const std::string& id, bool success,
              const std::string& code = "timeout") {
    Value r;
    r["success"] = success;
    if (!success) {
      r["error"] = "no";
      r["error_code"] = code;
    }
    deliver(identity, MessageType::kWorkResult, protocol::to_body(protocol::WorkResult{id, 1, r}));
  }
  size_t items_sent() {
    size_t n = 0;
    for (auto& frame : dispatcher_.take_outbox()) {
      auto m = protocol::decode(frame.envelope);
      if (m.ok() && m->type == MessageType::kWorkItem) ++n;
    }
    return n;
  }

  FakeClock clock_;
  Dispatcher dispatcher_;
};

TEST_F(DispatcherMetrics, CountsProviderResultsErrorsByCodeAndLatency) {
  hello("w", 4);
  submit("a", "anthropic");
  submit("b", "anthropic");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(items_sent(), 2u);
  clock_.advance(20ms);
  result("w", "a", true);
  clock_.advance(20ms);
  result("w", "b", false, "rate_limit");
  const Value p = *dispatcher_.provider_status(clock_.now()).find("anthropic");
  EXPECT_EQ(p.get_int("results"), 2);
  EXPECT_EQ(p.get_int("errors"), 1);
  EXPECT_EQ(p.find("errors_by_code")->get_int("rate_limit"), 1);
  const Value* latency = p.find("latency");
  ASSERT_NE(latency, nullptr);
  EXPECT_EQ(latency->get_int("count"), 2);
  EXPECT_EQ(latency->get_int("sum_us"), 60000);
  EXPECT_EQ(latency->get_int("max_us"), 40000);
}

TEST(LatencySummary, ListsOnlyTheBucketsWithSamples) {
  LatencyHistogram h;
  h.record(3);
  h.record(3);
  h.record(1000);
  const Value v = latency_summary(h);
  EXPECT_EQ(v.get_int("count"), 3);
  EXPECT_EQ(v.get_int("sum_us"), 1006);
  const auto& buckets = v.find("buckets")->as_array();
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[0].as_array()[0].as_int(), 3);
  EXPECT_EQ(buckets[0].as_array()[1].as_int(), 2);
  EXPECT_GE(buckets[1].as_array()[0].as_int(), 1000);
}

TEST_F(DispatcherMetrics, ADrainingWorkerGetsNoMoreItemsButItsResultsCount) {
  hello("w", 1);
  submit("a");
  submit("b");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(items_sent(), 1u);
  Value hb = protocol::to_body(protocol::Heartbeat{0});
  hb["draining"] = true;
  deliver("w", MessageType::kWorkerHeartbeat, hb);
  result("w", "a", true);
  dispatcher_.pump(clock_.now());
  EXPECT_EQ(items_sent(), 0u);
  EXPECT_EQ(dispatcher_.take_completions().size(), 1u);
  EXPECT_EQ(dispatcher_.queued(), 1u);
  // Its goodbye redelivers nothing: it held nothing.
  deliver("w", MessageType::kWorkerBye, Value::object());
  EXPECT_EQ(dispatcher_.counters().redelivered, 0u);
  hello("fresh", 1);
  dispatcher_.pump(clock_.now());
  EXPECT_EQ(items_sent(), 1u);
}

}  // namespace
}  // namespace pl::broker
