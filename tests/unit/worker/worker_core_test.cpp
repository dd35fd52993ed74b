#include "worker/worker_core.h"

#include <gtest/gtest.h>

#include <map>

namespace pl::worker {
namespace {

using protocol::MessageType;
using namespace std::chrono_literals;

class WorkerCoreTest : public ::testing::Test {
 protected:
  WorkerCoreTest() : core_(WorkerIdentity{"workers.1", 42, "host", 2}, 1s, 3) {}

  protocol::Message item(const std::string& id, uint32_t attempt = 1, int64_t timeout_ms = 5000) {
    protocol::WorkItem w{id,     attempt,    timeout_ms, "run",       "s",
                         "echo", Value("x"), nullptr,    std::nullopt};
    return {MessageType::kWorkItem, protocol::to_body(w)};
  }
  protocol::Message cancel(const std::string& id, uint32_t attempt, const std::string& reason) {
    return {MessageType::kCancelItem, protocol::to_body(protocol::CancelItem{id, attempt, reason})};
  }
  // Attempt 1 of `id` runs and is being cancelled; the broker's attempt 2 waits behind it.
  void retry_behind_a_cancelled_run(const std::string& id) {
    core_.on_connected(clock_.now());
    core_.on_message(item(id, 1), clock_.now());
    core_.on_message(cancel(id, 1, "x"), clock_.now());
    EXPECT_TRUE(only<StartItem>(core_.on_message(item(id, 2), clock_.now())).empty())
        << "two runs of one item at once";
  }
  protocol::WorkResult result(const std::string& id, uint32_t attempt = 1) {
    Value r;
    r["success"] = true;
    return protocol::WorkResult{id, attempt, r};
  }
  template <class T>
  static std::vector<T> only(const std::vector<WorkerCommand>& commands) {
    std::vector<T> out;
    for (const auto& c : commands) {
      if (auto* t = std::get_if<T>(&c)) out.push_back(*t);
    }
    return out;
  }

  FakeClock clock_;
  WorkerCore core_;
};

TEST_F(WorkerCoreTest, SaysHelloWithItsSlotsOnConnecting) {
  auto sent = only<SendMessage>(core_.on_connected(clock_.now()));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, MessageType::kWorkerHello);
  auto hello = protocol::worker_hello_from(sent[0].body());
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(hello->slots, 2u);
  EXPECT_EQ(hello->worker_name, "workers.1");
}

TEST_F(WorkerCoreTest, StartsItemsUpToItsSlotsAndRefusesMoreLoudly) {
  core_.on_connected(clock_.now());
  EXPECT_EQ(only<StartItem>(core_.on_message(item("a"), clock_.now())).size(), 1u);
  EXPECT_EQ(only<StartItem>(core_.on_message(item("b"), clock_.now())).size(), 1u);
  auto third = core_.on_message(item("c"), clock_.now());
  EXPECT_TRUE(only<StartItem>(third).empty());
  auto refused = only<SendMessage>(third);
  ASSERT_EQ(refused.size(), 1u);
  auto r = protocol::work_result_from(refused[0].body());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result.get_string("error_code"), "retry_later");
  EXPECT_TRUE(r->result.get_bool("refused")) << "the broker sends it again, counting no failure";
  EXPECT_EQ(core_.refused_items(), 1u);
}

TEST_F(WorkerCoreTest, AResultTooLargeForOneMessageIsSentAsATooLargeFailureThatKeepsItsUsage) {
  core_.on_connected(clock_.now());
  core_.on_message(item("big"), clock_.now());
  const size_t limit = protocol::DecodeLimits{}.max_frame_bytes;
  Value r;
  r["success"] = true;
  r["text"] = std::string(limit, 'x');
  r["usage"]["input_tokens"] = 7;
  auto sent = only<SendMessage>(core_.on_item_finished(protocol::WorkResult{"big", 1, r}, clock_.now()));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_LE(sent[0].envelope.size(), limit) << "the broker would refuse it and drop the connection";
  auto got = protocol::work_result_from(sent[0].body());
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->item_id, "big");
  EXPECT_FALSE(got->result.get_bool("success", true));
  EXPECT_EQ(got->result.get_string("error_code"), "too_large");
  EXPECT_NE(got->result.get_string("error").find("a message to the broker may carry"), std::string::npos)
      << got->result.get_string("error");
  EXPECT_EQ(got->result["usage"].get_int("input_tokens"), 7) << "the call was paid for";
  EXPECT_EQ(core_.oversized_results(), 1u);
  // What is sent again after a reconnect is the failure, not the result the broker refused.
  auto again = only<SendMessage>(core_.on_connected(clock_.now()));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[1].envelope, sent[0].envelope);
}

TEST_F(WorkerCoreTest, ADecodedItemStartsAsAnEnvelopeWouldAndCountsAsHearingFromTheBroker) {
  core_.on_connected(clock_.now());
  clock_.advance(2500ms);
  auto item = protocol::work_item_from(std::move(this->item("a").body));
  ASSERT_TRUE(item.ok());
  auto started = only<StartItem>(core_.on_work_item(protocol::WorkItem(*item), clock_.now()));
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].item.item_id, "a");
  EXPECT_EQ(started[0].deadline, clock_.now() + 5000ms);
  EXPECT_TRUE(core_.on_work_item(protocol::WorkItem(*item), clock_.now()).empty()) << "already running";
  EXPECT_EQ(core_.running(), 1u);
  clock_.advance(1s);  // 3.5 s after the hello, 1 s after the item: the broker is alive
  EXPECT_TRUE(only<Reconnect>(core_.on_tick(clock_.now())).empty());
}

TEST_F(WorkerCoreTest, CancelsAnItemWhoseDeadlinePassed) {
  core_.on_connected(clock_.now());
  core_.on_message(item("a", 1, 500), clock_.now());
  clock_.advance(400ms);
  core_.on_message({MessageType::kBrokerHeartbeat, Value::object()}, clock_.now());
  EXPECT_TRUE(only<CancelRunning>(core_.on_tick(clock_.now())).empty());
  clock_.advance(200ms);
  auto cancels = only<CancelRunning>(core_.on_tick(clock_.now()));
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].item_id, "a");
  EXPECT_TRUE(only<CancelRunning>(core_.on_tick(clock_.now())).empty()) << "cancelled once";
}

// What the executor makes of the cancel at the deadline ("cancelled: deadline passed") goes out
// as the timeout it is, which `retry` retries; a cancel that came from the broker stays a cancel.
TEST_F(WorkerCoreTest, AnAttemptCancelledAtItsDeadlineIsReportedAsATimeout) {
  const auto cancelled_result = [](const std::string& id) {
    Value r;
    r["success"] = false;
    r["error"] = "anthropic: POST http://x/v1/messages: cancelled";  // as its cancel ended it
    r["error_code"] = "cancelled";
    return protocol::WorkResult{id, 1, r};
  };
  const auto sent_result = [](const std::vector<WorkerCommand>& commands) {
    auto sent = only<SendMessage>(commands);
    EXPECT_EQ(sent.size(), 1u);
    auto got = protocol::work_result_from(sent.at(0).body());
    EXPECT_TRUE(got.ok());
    return got->result;
  };
  core_.on_connected(clock_.now());
  core_.on_message(item("late", 1, 500), clock_.now());
  core_.on_message(item("told", 1, 5000), clock_.now());
  clock_.advance(600ms);
  core_.on_message({MessageType::kBrokerHeartbeat, Value::object()}, clock_.now());
  ASSERT_EQ(only<CancelRunning>(core_.on_tick(clock_.now())).size(), 1u);
  core_.on_message(cancel("told", 1, "run cancelled"), clock_.now());

  const Value late = sent_result(core_.on_item_finished(cancelled_result("late"), clock_.now()));
  EXPECT_EQ(late.get_string("error_code"), "timeout");
  EXPECT_EQ(late.get_string("error"),
            "timed out after 500 ms, in anthropic: POST http://x/v1/messages");
  const Value told = sent_result(core_.on_item_finished(cancelled_result("told"), clock_.now()));
  EXPECT_EQ(told.get_string("error_code"), "cancelled");
}

TEST_F(WorkerCoreTest, ReconnectsWhenTheBrokerFallsSilent) {
  core_.on_connected(clock_.now());
  clock_.advance(2900ms);
  auto commands = core_.on_tick(clock_.now());
  EXPECT_TRUE(only<Reconnect>(commands).empty());
  clock_.advance(200ms);
  EXPECT_EQ(only<Reconnect>(core_.on_tick(clock_.now())).size(), 1u);
}

TEST_F(WorkerCoreTest, SendsHeartbeatsEachInterval) {
  core_.on_connected(clock_.now());
  clock_.advance(1s);
  auto sent = only<SendMessage>(core_.on_tick(clock_.now()));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, MessageType::kWorkerHeartbeat);
}

TEST_F(WorkerCoreTest, KeepsResultsUntilAcknowledgedAndSendsThemAgainAfterHello) {
  core_.on_connected(clock_.now());
  core_.on_message(item("a"), clock_.now());
  core_.on_message(item("b"), clock_.now());
  core_.on_item_finished(result("a"), clock_.now());
  const auto first_send = only<SendMessage>(core_.on_item_finished(result("b"), clock_.now()));
  ASSERT_EQ(first_send.size(), 1u);
  EXPECT_EQ(core_.unacknowledged(), 2u);
  Value acks = Value::array();
  acks.push_back(Value(Value::Object{{"id", Value("a")}, {"attempt", Value(1)}}));
  core_.on_message({MessageType::kResultAck, protocol::to_body(protocol::ResultAck{acks})}, clock_.now());
  EXPECT_EQ(core_.unacknowledged(), 1u);
  // The broker restarted: a new connection (nothing more is read from this one), whose hello
  // goes first, then the result the broker may not have made durable.
  auto told = core_.on_message({MessageType::kReconnect, Value::object()}, clock_.now());
  EXPECT_EQ(only<Reconnect>(told).size(), 1u);
  EXPECT_TRUE(only<SendMessage>(told).empty());
  auto sent = only<SendMessage>(core_.on_connected(clock_.now()));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].type, MessageType::kWorkerHello);
  EXPECT_EQ(sent[1].type, MessageType::kWorkResult);
  EXPECT_EQ(protocol::work_result_from(sent[1].body())->item_id, "b");
  EXPECT_EQ(sent[1].envelope, first_send[0].envelope);  // the same bytes, not a new encoding
}

// A stop drains: nothing more is asked for, what runs finishes and is acknowledged, then the
// worker retires with nothing left to run again.
TEST_F(WorkerCoreTest, AStopFinishesWhatRunsAndRetiresOnceItIsAcknowledged) {
  core_.on_connected(clock_.now());
  core_.on_message(item("a"), clock_.now());
  auto stopping = core_.on_stop(clock_.now(), clock_.now() + 4s);
  auto told = only<SendMessage>(stopping);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].type, MessageType::kWorkerHeartbeat);
  EXPECT_TRUE(told[0].body().get_bool("draining"));
  EXPECT_TRUE(only<Retire>(stopping).empty());
  EXPECT_TRUE(only<Retire>(core_.on_item_finished(result("a"), clock_.now())).empty())
      << "retired before its result was acknowledged";
  Value acks = Value::array();
  acks.push_back(Value(Value::Object{{"id", Value("a")}, {"attempt", Value(1)}}));
  auto acked = core_.on_message(
      {MessageType::kResultAck, protocol::to_body(protocol::ResultAck{acks})}, clock_.now());
  auto retired = only<Retire>(acked);
  ASSERT_EQ(retired.size(), 1u);
  EXPECT_EQ(retired[0].left_running, 0u);
}

TEST_F(WorkerCoreTest, AStopRetiresAtItsDeadlineLeavingWhatStillRunsToRedelivery) {
  core_.on_connected(clock_.now());
  core_.on_message(item("slow", 1, 60'000), clock_.now());
  const TimePoint give_up = clock_.now() + 4s;
  EXPECT_TRUE(only<Retire>(core_.on_stop(clock_.now(), give_up)).empty());
  EXPECT_LE(core_.next_deadline(), give_up);
  clock_.advance(4s);
  auto retired = only<Retire>(core_.on_tick(clock_.now()));
  ASSERT_EQ(retired.size(), 1u);
  EXPECT_EQ(retired[0].left_running, 1u);
}

TEST_F(WorkerCoreTest, AnIdleWorkerStopsAtOnce) {
  core_.on_connected(clock_.now());
  EXPECT_EQ(only<Retire>(core_.on_stop(clock_.now(), clock_.now() + 4s)).size(), 1u);
}

// The broker may send an item before it reads the draining heartbeat: a stopping worker refuses
// it (sent elsewhere at once, no attempt spent) rather than start what its stop would cut short.
TEST_F(WorkerCoreTest, AStoppingWorkerRefusesItemsThatArriveAfterTheStop) {
  core_.on_connected(clock_.now());
  core_.on_message(item("a"), clock_.now());
  core_.on_stop(clock_.now(), clock_.now() + 4s);
  auto late = core_.on_message(item("b"), clock_.now());
  EXPECT_TRUE(only<StartItem>(late).empty());
  auto sent = only<SendMessage>(late);
  ASSERT_EQ(sent.size(), 1u);
  auto refused = protocol::work_result_from(sent[0].body());
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->item_id, "b");
  EXPECT_EQ(refused->result.get_string("error_code"), "retry_later");
  EXPECT_EQ(core_.running(), 1u);
}

// A result says where, when and for how long it ran, whatever the step put under those names;
// so does the failure that replaces a result too large to send.
TEST_F(WorkerCoreTest, ResultsAreStampedWithWhereWhenAndHowLongTheyRan) {
  core_.on_connected(clock_.now());
  core_.on_message(item("a"), clock_.now());
  core_.on_message(item("b"), clock_.now());
  FinishedItem claims(result("a"), protocol::AttemptTiming{1763800000123, 42});
  claims.result["worker"] = "someone else";
  claims.result["duration_ms"] = 1;
  auto sent = only<SendMessage>(core_.on_item_finished(claims, clock_.now()));
  ASSERT_EQ(sent.size(), 1u);
  auto decoded = protocol::work_result_from(sent[0].body());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->result.get_string("worker"), "workers.1");
  EXPECT_EQ(decoded->result.get_string("host"), "host");
  EXPECT_EQ(decoded->result.get_int("started_ms"), 1763800000123);
  EXPECT_EQ(decoded->result.get_int("duration_ms"), 42);
  EXPECT_TRUE(decoded->result.get_bool("success"));

  protocol::WorkResult huge = result("b");
  huge.result["text"] = std::string(protocol::DecodeLimits{}.max_frame_bytes, 'x');
  sent = only<SendMessage>(core_.on_item_finished(huge, clock_.now()));
  ASSERT_EQ(sent.size(), 1u);
  decoded = protocol::work_result_from(sent[0].body());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->result.get_string("error_code"), "too_large");
  EXPECT_EQ(decoded->result.get_string("worker"), "workers.1");
}

TEST_F(WorkerCoreTest, HelloDeclaresOnlyWhatStillRuns) {
  core_.on_connected(clock_.now());
  core_.on_message(item("a"), clock_.now());
  core_.on_message(item("b"), clock_.now());
  core_.on_item_finished(result("a"), clock_.now());
  auto sent = only<SendMessage>(core_.on_connected(clock_.now()));
  auto hello = protocol::worker_hello_from(sent[0].body());
  ASSERT_TRUE(hello.ok());
  ASSERT_EQ(hello->held.size(), 1u);
  EXPECT_EQ(hello->held.as_array()[0].get_string("id"), "b");
}

TEST_F(WorkerCoreTest, HelloSaysWhichAttemptIsBeingCancelledAndWhichWaitsBehindIt) {
  core_.on_connected(clock_.now());
  core_.on_message(item("a", 1), clock_.now());
  core_.on_message(item("b", 1), clock_.now());
  ASSERT_EQ(only<CancelRunning>(core_.on_message(cancel("a", 1, "x"), clock_.now())).size(), 1u);
  ASSERT_EQ(only<CancelRunning>(core_.on_message(cancel("b", 1, "x"), clock_.now())).size(), 1u);
  core_.on_message(item("b", 2), clock_.now());  // waits for the cancelled run to end
  auto hello =
      protocol::worker_hello_from(only<SendMessage>(core_.on_connected(clock_.now()))[0].body());
  ASSERT_TRUE(hello.ok());
  std::map<std::pair<std::string, int64_t>, bool> held;  // (id, attempt) -> cancelling
  for (const auto& h : hello->held.as_array()) {
    held[{h.get_string("id"), h.get_int("attempt")}] = h.get_bool("cancelling");
  }
  const std::map<std::pair<std::string, int64_t>, bool> expected{
      {{"a", 1}, true}, {{"b", 1}, true}, {{"b", 2}, false}};
  EXPECT_EQ(held, expected);
}

TEST_F(WorkerCoreTest, AnAckForAnotherAttemptKeepsTheResult) {
  core_.on_connected(clock_.now());
  core_.on_message(item("a", 2), clock_.now());
  core_.on_item_finished(result("a", 2), clock_.now());
  Value acks = Value::array();
  acks.push_back(Value(Value::Object{{"id", Value("a")}, {"attempt", Value(1)}}));
  core_.on_message({MessageType::kResultAck, protocol::to_body(protocol::ResultAck{acks})}, clock_.now());
  EXPECT_EQ(core_.unacknowledged(), 1u);
}

// The shell decodes acknowledgements straight from the frame (on_result_ack): an attempt is
// forgotten only when both its id and its number are acknowledged.
TEST_F(WorkerCoreTest, AnAckTheShellDecodedForgetsExactlyTheAttemptsItNames) {
  core_.on_connected(clock_.now());
  for (const char* id : {"a", "b", "c"}) core_.on_message(item(id, 2), clock_.now());
  for (const char* id : {"a", "b", "c"}) core_.on_item_finished(result(id, 2), clock_.now());
  ASSERT_EQ(core_.unacknowledged(), 3u);
  core_.on_result_ack({{"a", 2}, {"b", 1}, {"z", 2}}, clock_.now());
  EXPECT_EQ(core_.unacknowledged(), 2u);
  core_.on_result_ack({{"b", 2}, {"c", 2}}, clock_.now());
  EXPECT_EQ(core_.unacknowledged(), 0u);
}

TEST_F(WorkerCoreTest, BrokerCancelReachesTheRunningAttemptOnly) {
  core_.on_connected(clock_.now());
  core_.on_message(item("a", 3), clock_.now());
  auto stale = core_.on_message(cancel("a", 2, "x"), clock_.now());
  EXPECT_TRUE(only<CancelRunning>(stale).empty());
  auto current = core_.on_message(cancel("a", 3, "x"), clock_.now());
  EXPECT_EQ(only<CancelRunning>(current).size(), 1u);
}

TEST_F(WorkerCoreTest, ANewerAttemptOfARunningItemIsAnsweredByTheRunUnderWay) {
  // The broker gave up our old connection (it fell silent; we reconnected) and sent the item
  // again: one run, reported under the attempt the broker now waits for.
  core_.on_connected(clock_.now());
  ASSERT_EQ(only<StartItem>(core_.on_message(item("a", 1), clock_.now())).size(), 1u);
  EXPECT_TRUE(only<StartItem>(core_.on_message(item("a", 2), clock_.now())).empty());
  EXPECT_TRUE(only<StartItem>(core_.on_message(item("a", 2), clock_.now())).empty());
  auto hello = protocol::worker_hello_from(only<SendMessage>(core_.on_connected(clock_.now()))[0].body());
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(hello->held.as_array()[0].get_int("attempt"), 2);
  // A cancel of the attempt the broker knows reaches the run (started as attempt 1).
  auto cancelled = only<CancelRunning>(core_.on_message(cancel("a", 2, "x"), clock_.now()));
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0].attempt, 1u);

  auto sent = only<SendMessage>(core_.on_item_finished(result("a", 1), clock_.now()));
  ASSERT_EQ(sent.size(), 1u);
  auto reported = protocol::work_result_from(sent[0].body());
  ASSERT_TRUE(reported.ok());
  EXPECT_EQ(reported->attempt, 2u);
  EXPECT_EQ(core_.running(), 0u);
}

TEST_F(WorkerCoreTest, ANewerAttemptOfAnItemBeingCancelledStartsWhenTheCancelledRunEnds) {
  retry_behind_a_cancelled_run("a");
  auto ended = core_.on_item_finished(result("a", 1), clock_.now());
  auto sent = only<SendMessage>(ended);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(protocol::work_result_from(sent[0].body())->attempt, 1u) << "the cancelled one, as it was";
  auto started = only<StartItem>(ended);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].item.attempt, 2u);
  EXPECT_EQ(core_.running(), 1u);
  auto second = only<SendMessage>(core_.on_item_finished(result("a", 2), clock_.now()));
  EXPECT_EQ(protocol::work_result_from(second[0].body())->attempt, 2u);
}

TEST_F(WorkerCoreTest, AnAttemptWaitingBehindACancelledRunIsAnsweredWhenANewerOneReplacesIt) {
  retry_behind_a_cancelled_run("a");
  auto answered = only<SendMessage>(core_.on_message(item("a", 3), clock_.now()));
  ASSERT_EQ(answered.size(), 1u) << "the broker holds a slot for attempt 2 until it is answered";
  EXPECT_EQ(protocol::work_result_from(answered[0].body())->attempt, 2u);
  auto started = only<StartItem>(core_.on_item_finished(result("a", 1), clock_.now()));
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].item.attempt, 3u);
}

TEST_F(WorkerCoreTest, ACancelOfTheAttemptWaitingBehindACancelledRunDropsIt) {
  retry_behind_a_cancelled_run("a");
  auto dropped = only<SendMessage>(core_.on_message(cancel("a", 2, "run cancelled"), clock_.now()));
  ASSERT_EQ(dropped.size(), 1u) << "the broker holds a slot for attempt 2 until it is answered";
  auto answer = protocol::work_result_from(dropped[0].body());
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->attempt, 2u);
  EXPECT_EQ(answer->result.get_string("error_code"), "cancelled");
  EXPECT_TRUE(only<StartItem>(core_.on_item_finished(result("a", 1), clock_.now())).empty());
  EXPECT_EQ(core_.running(), 0u);
}

}  // namespace
}  // namespace pl::worker
