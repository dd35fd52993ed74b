#include "broker/dispatcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "common/protocol/work.h"

namespace pl::broker {
namespace {

using protocol::MessageType;
using namespace std::chrono_literals;

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : dispatcher_(config(), 42) {}

  static DispatchConfig config() {
    DispatchConfig c;
    c.heartbeat = 1s;
    c.liveness = 3;
    c.deadline_grace = 0ms;
    c.cancel_grace = 5s;
    c.poison_threshold = 3;
    c.instance_id = "b1";
    ProviderLimits anthropic;
    anthropic.max_concurrency = 2;
    anthropic.breaker = BreakerSettings{2, 10s, 1};
    c.providers["anthropic"] = anthropic;
    return c;
  }

  void hello(const std::string& identity, uint32_t slots, int64_t pid = 100) {
    alive_.push_back(identity);
    protocol::WorkerHello h{identity, pid, "", slots, Value::array()};
    deliver(identity, MessageType::kWorkerHello, protocol::to_body(h));
  }
  // A hello from worker process `name` on connection `identity`, still running `held`.
  void hello_as(const std::string& identity, const std::string& name, uint32_t slots, int64_t pid,
                const std::vector<std::pair<std::string, int>>& held = {}) {
    alive_.push_back(identity);
    Value running = Value::array();
    for (const auto& [id, attempt] : held) {
      running.push_back(Value(Value::Object{{"id", Value(id)}, {"attempt", Value(attempt)}}));
    }
    protocol::WorkerHello h{name, pid, "", slots, running};
    deliver(identity, MessageType::kWorkerHello, protocol::to_body(h));
  }
  // A hello from a worker stopping attempt `attempt` of `id`, which it was told to cancel (by
  // this broker's predecessor).
  void hello_cancelling(const std::string& identity, uint32_t slots, const std::string& id,
                        int attempt) {
    alive_.push_back(identity);
    Value held = Value::array();
    held.push_back(Value(Value::Object{
        {"id", Value(id)}, {"attempt", Value(attempt)}, {"cancelling", Value(true)}}));
    deliver(identity, MessageType::kWorkerHello,
            protocol::to_body(protocol::WorkerHello{identity, 100, "", slots, held}));
  }
  // No more heartbeats from `identity` (its connection is gone).
  void falls_silent(const std::string& identity) {
    alive_.erase(std::remove(alive_.begin(), alive_.end(), identity), alive_.end());
  }
  void deliver(const std::string& identity, MessageType type, const Value& body) {
    dispatcher_.on_worker_message(identity, protocol::Message{type, body}, clock_.now());
  }
  void result(const std::string& identity, const std::string& id, uint32_t attempt, bool success,
              const std::string& code = "step_failed") {
    Value r;
    r["success"] = success;
    if (!success) {
      r["error"] = "boom";
      r["error_code"] = code;
    }
    deliver(identity, MessageType::kWorkResult, protocol::to_body(protocol::WorkResult{id, attempt, r}));
  }
  static WorkSpec spec_of(const std::string& id, uint32_t max_attempts = 1,
                          int64_t timeout_ms = 10000, const std::string& provider = "") {
    WorkSpec spec;
    spec.provider = provider;
    spec.item_id = id;
    spec.run_id = "run";
    spec.step_name = id;
    spec.step_type = "echo";
    spec.timeout_ms = timeout_ms;
    spec.retry.max_attempts = max_attempts;
    spec.retry.base_delay_ms = 100;
    spec.retry.max_delay_ms = 1000;
    return spec;
  }
  void submit(const std::string& id, uint32_t max_attempts = 1, int64_t timeout_ms = 10000,
              const std::string& provider = "", bool tell_retries = false) {
    WorkSpec spec = spec_of(id, max_attempts, timeout_ms, provider);
    spec.tell_retries = tell_retries;
    dispatcher_.submit(std::move(spec), clock_.now());
  }
  // Worker w1 (2 slots) joins, and two server errors open anthropic's circuit.
  void open_anthropic_circuit() {
    hello("w1", 2);
    submit("a", 1, 10000, "anthropic");
    submit("b", 1, 10000, "anthropic");
    dispatcher_.pump(clock_.now());
    take();
    result("w1", "a", 1, false, "server_error");
    result("w1", "b", 1, false, "server_error");
    ASSERT_EQ(dispatcher_.take_completions().size(), 2u);
  }
  // Work items sent, as (identity, item id, attempt); other frames are dropped.
  struct Sent {
    std::string identity;
    MessageType type;
    Value body;
  };
  std::vector<Sent> take() {
    std::vector<Sent> out;
    auto frames = dispatcher_.take_outbox();
    for (auto& ack : dispatcher_.take_acks()) frames.push_back(std::move(ack));
    for (auto& frame : frames) {
      auto m = protocol::decode(frame.envelope);
      EXPECT_TRUE(m.ok());
      out.push_back(Sent{frame.identity, m->type, m->body});
    }
    return out;
  }
  std::vector<Sent> take_items() {
    std::vector<Sent> items;
    for (auto& s : take()) {
      if (s.type == MessageType::kWorkItem) items.push_back(s);
    }
    return items;
  }
  // Time passes; the test's workers keep heartbeating unless `silent`.
  void tick(Duration d, bool silent = false) {
    clock_.advance(d);
    if (!silent) {
      for (const auto& identity : alive_) {
        if (const WorkerRecord* w = dispatcher_.roster().find(identity)) {
          // An honest worker: busy with what it was sent, and nothing else.
          const auto held = static_cast<uint32_t>(w->held.size());
          heartbeat(identity, w->slots > held ? w->slots - held : 0);
        }
      }
    }
    dispatcher_.on_tick(clock_.now());
  }
  // The worker's answer when it has no free slot for the attempt.
  void refuses(const std::string& identity, const std::string& id, uint32_t attempt) {
    Value refusal;
    refusal["success"] = false;
    refusal["error"] = "worker " + identity + " has no free slot";
    refusal["error_code"] = "retry_later";
    refusal["refused"] = true;
    deliver(identity, MessageType::kWorkResult,
            protocol::to_body(protocol::WorkResult{id, attempt, refusal}));
  }
  void heartbeat(const std::string& identity, uint32_t free_slots) {
    deliver(identity, MessageType::kWorkerHeartbeat,
            protocol::to_body(protocol::Heartbeat{free_slots}));
  }
  // The acknowledgements in `sent`, as "id@attempt".
  static std::vector<std::string> acked(const std::vector<Sent>& sent) {
    std::vector<std::string> out;
    for (const auto& s : sent) {
      if (s.type != MessageType::kResultAck) continue;
      for (const auto& a : s.body.find("acks")->as_array()) {
        out.push_back(a.get_string("id") + "@" + std::to_string(a.get_int("attempt")));
      }
    }
    return out;
  }
  bool sent_type(const std::vector<Sent>& sent, MessageType type) {
    for (const auto& s : sent) {
      if (s.type == type) return true;
    }
    return false;
  }

  FakeClock clock_;
  Dispatcher dispatcher_;
  std::vector<std::string> alive_;
};

TEST_F(DispatcherTest, WelcomesAWorkerThatSaysHello) {
  hello("w1", 1);
  auto sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, MessageType::kWelcome);
  EXPECT_EQ(sent[0].body.get_string("broker"), "b1");
}

TEST_F(DispatcherTest, EachItemCarriesItsOwnRunsContextWhenRunsInterleave) {
  // The dispatcher packs a context once for the items that share it: a change of context
  // between items (another run, or none) must still reach each item.
  auto context_of = [](const std::string& dir) {
    Value c;
    c["workspace_dir"] = dir;
    return std::make_shared<const Value>(std::move(c));
  };
  const auto a = context_of("/runs/a");
  const auto b = context_of("/runs/b");
  const std::vector<std::shared_ptr<const Value>> contexts{a, a, b, nullptr, a};
  hello("w1", 8);
  for (size_t i = 0; i < contexts.size(); ++i) {
    WorkSpec spec;
    spec.item_id = "i" + std::to_string(i);
    spec.run_id = "run";
    spec.step_type = "echo";
    spec.context = contexts[i];
    dispatcher_.submit(std::move(spec), clock_.now());
  }
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), contexts.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const Value* context = items[i].body.find("context");
    ASSERT_NE(context, nullptr);
    EXPECT_EQ(*context, contexts[i] ? *contexts[i] : Value::object())
        << items[i].body.get_string("id");
  }
}

TEST_F(DispatcherTest, AStallOfTheBrokerIsNotTheSilenceOfItsWorkers) {
  // Heartbeats wait unread while the broker is stopped (SIGSTOP, a paused VM): 6 s without a
  // tick does not give up a worker whose liveness is 3 s, nor run its item again.
  hello("w1", 1);
  submit("a");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  tick(100ms);  // the loop runs
  tick(6s, /*silent=*/true);  // and stops for 6 s
  EXPECT_NE(dispatcher_.roster().find("w1"), nullptr);
  EXPECT_EQ(dispatcher_.holder_of("a"), "w1");
  EXPECT_EQ(dispatcher_.counters().redelivered, 0u);
  // Silence while the broker runs still counts: the liveness passes 3 s later.
  tick(1s, /*silent=*/true);
  tick(1s, /*silent=*/true);
  EXPECT_NE(dispatcher_.roster().find("w1"), nullptr);
  tick(1s, /*silent=*/true);
  EXPECT_EQ(dispatcher_.roster().find("w1"), nullptr);
}

TEST_F(DispatcherTest, AWorkerThatReconnectsKeepsWhatItRunsAndNothingRunsTwice) {
  // The broker fell silent past the worker's liveness (stopped, starved), so the worker made a
  // new connection. Giving up the old one must not run again what the process still runs.
  hello_as("w1", "workers.1", 1, 7);
  submit("a");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  hello_as("w1-new", "workers.1", 1, 7, {{"a", 1}});
  falls_silent("w1");
  EXPECT_EQ(dispatcher_.holder_of("a"), "w1-new");
  EXPECT_EQ(dispatcher_.counters().moved_to_new_connection, 1u);
  hello("w2", 1, 8);  // somewhere a redelivery could go
  for (int i = 0; i < 5; ++i) tick(1s);
  EXPECT_EQ(dispatcher_.roster().find("w1"), nullptr) << "the old connection aged out";
  EXPECT_EQ(dispatcher_.counters().redelivered, 0u);
  EXPECT_TRUE(take_items().empty());
  result("w1-new", "a", 1, true);
  EXPECT_EQ(dispatcher_.take_completions().size(), 1u);
  EXPECT_EQ(dispatcher_.counters().stale_results, 0u);
}

TEST_F(DispatcherTest, AnOldConnectionTakesNoNewItemsAndWhatItLostInTransitIsRedelivered) {
  hello_as("w1", "workers.1", 2, 7);
  submit("a");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  // a never reached the process: its hello on the new connection holds nothing.
  hello_as("w1-new", "workers.1", 2, 7);
  falls_silent("w1");
  submit("b");
  dispatcher_.pump(clock_.now());
  auto sent = take_items();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].identity, "w1-new") << "nothing more for a connection that is gone";
  for (int i = 0; i < 4; ++i) tick(1s);
  EXPECT_EQ(dispatcher_.counters().redelivered, 1u);
  sent = take_items();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].identity, "w1-new");
  EXPECT_EQ(sent[0].body.get_string("id"), "a");
}

TEST_F(DispatcherTest, AResultOfAnOlderAttemptFreesOnlyItsOwnSlot) {
  // A cancelled attempt holds its slot until the worker answers it; its retry may go to the
  // same worker and hold another. Answering the old one must not free the new one's slot.
  hello("w1", 2);
  submit("a", /*max_attempts=*/2, /*timeout_ms=*/1000);
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  tick(1001ms);  // a's deadline: cancelled on w1, retried
  tick(1s);
  auto retry = take_items();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].body.get_int("attempt"), 2);
  submit("b");
  submit("c");
  dispatcher_.pump(clock_.now());
  EXPECT_TRUE(take_items().empty()) << "w1 holds a@1 (cancelled, not answered) and a@2";
  result("w1", "a", 1, false, "cancelled");  // stale
  dispatcher_.pump(clock_.now());
  EXPECT_EQ(take_items().size(), 1u) << "one slot came back, not two";
}

TEST_F(DispatcherTest, AnItemTheSocketCouldNotSendIsQueuedAgainAsIfNotSent) {
  hello("w1", 2);
  submit("a");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  dispatcher_.on_undelivered("w1", "a", 1, /*gone=*/true, clock_.now());
  EXPECT_EQ(dispatcher_.item_state("a"), "queued");
  EXPECT_EQ(dispatcher_.counters().undelivered, 1u);
  dispatcher_.pump(clock_.now());
  EXPECT_TRUE(take_items().empty()) << "w1 has no connection: nothing more for it";
  hello("w2", 1, 8);
  dispatcher_.pump(clock_.now());
  auto sent = take_items();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].identity, "w2");
  EXPECT_EQ(sent[0].body.get_int("attempt"), 1) << "no worker ever had attempt 1";
}

TEST_F(DispatcherTest, AWorkerBackFromSilenceIsToldToStopTheAttemptGivenUpMeanwhile) {
  // A frozen worker is given up and its item runs elsewhere; when it comes back still running
  // the old attempt, that attempt is cancelled (its result would be discarded) and keeps the
  // worker's slot until the worker lets go.
  hello_as("w1", "workers.1", 1, 7);
  submit("a");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  hello("w2", 1, 8);
  falls_silent("w1");
  for (int i = 0; i < 4; ++i) tick(1s);
  ASSERT_EQ(dispatcher_.holder_of("a"), "w2");
  take();
  hello_as("w1", "workers.1", 1, 7, {{"a", 1}});
  bool cancelled = false;
  for (const auto& s : take()) {
    if (s.type == MessageType::kCancelItem && s.identity == "w1") {
      cancelled = s.body.get_string("id") == "a" && s.body.get_int("attempt") == 1;
    }
  }
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(dispatcher_.counters().stale_attempts_cancelled, 1u);
  submit("b");
  dispatcher_.pump(clock_.now());
  EXPECT_TRUE(take_items().empty()) << "w1 still holds a@1";
  result("w1", "a", 1, false, "cancelled");
  dispatcher_.pump(clock_.now());
  auto sent = take_items();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].identity, "w1");
  EXPECT_EQ(dispatcher_.holder_of("a"), "w2") << "the stale answer changed nothing";
}

TEST_F(DispatcherTest, NeverSendsAWorkerMoreItemsThanItsSlots) {
  hello("w1", 2);
  for (int i = 0; i < 5; ++i) submit("i" + std::to_string(i));
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(dispatcher_.queued(), 3u);
  EXPECT_EQ(dispatcher_.in_flight(), 2u);
}

TEST_F(DispatcherTest, ResultCompletesTheItemAndReturnsTheCredit) {
  hello("w1", 1);
  submit("a");
  submit("b");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  result("w1", "a", 1, true);
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].item_id, "a");
  EXPECT_EQ(done[0].result.get_int("attempts"), 1);
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].body.get_string("id"), "b");
}

TEST_F(DispatcherTest, AnItemTooLargeForAMessageFailsAsTooLargeAndItsWorkerStaysConnected) {
  // Sent, it would cut the worker's connection (ZMQ_MAXMSGSIZE), and then the next worker's.
  hello("w1", 1);
  WorkSpec big = spec_of("big", 3);
  big.input["value"] = std::string(protocol::DecodeLimits{}.max_frame_bytes, 'x');
  dispatcher_.submit(std::move(big), clock_.now());
  submit("small");
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].body.get_string("id"), "small");
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].item_id, "big");
  EXPECT_EQ(done[0].result.get_string("error_code"), "too_large");
  EXPECT_NE(done[0].result.get_string("error").find("a message to a worker may carry"),
            std::string::npos)
      << done[0].result.get_string("error");
  EXPECT_EQ(dispatcher_.counters().oversized_items, 1u);
  EXPECT_EQ(dispatcher_.counters().retried, 0u);  // no retry can make it smaller
}

// An ended attempt takes its deadline along: the broker is not woken for it later, and a
// million finished items leave nothing behind in the deadline map.
TEST_F(DispatcherTest, AnEndedAttemptNoLongerWakesTheBrokerForItsDeadline) {
  hello("w1", 1, 100);
  take();
  submit("a", 1, /*timeout_ms=*/400);  // due before the next heartbeat (1 s)
  submit("b", 1, /*timeout_ms=*/600);
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  EXPECT_EQ(dispatcher_.next_deadline(clock_.now()), clock_.now() + 400ms);

  result("w1", "a", 1, true);  // answered: a's deadline goes, b goes out
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  EXPECT_EQ(dispatcher_.next_deadline(clock_.now()), clock_.now() + 600ms);

  hello("w2", 1, 200);
  dispatcher_.on_process_exited(100, clock_.now());  // redelivered: a fresh attempt, a fresh deadline
  clock_.advance(100ms);
  dispatcher_.pump(clock_.now());
  EXPECT_EQ(dispatcher_.next_deadline(clock_.now()), clock_.now() - 100ms + 600ms);
  result("w2", "b", 2, true);
  ASSERT_EQ(dispatcher_.take_completions().size(), 2u);  // a and b
  EXPECT_GE(dispatcher_.next_deadline(clock_.now()), clock_.now() + 100ms);  // heartbeats only
}

TEST_F(DispatcherTest, SpreadsItemsOverWorkersWithCredit) {
  hello("w1", 1);
  hello("w2", 1);
  submit("a");
  submit("b");
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_NE(items[0].identity, items[1].identity);
}

TEST_F(DispatcherTest, StaleAttemptResultIsDiscarded) {
  hello("w1", 1, 100);
  hello("w2", 1, 200);
  submit("a");
  dispatcher_.pump(clock_.now());
  auto first = take_items();
  ASSERT_EQ(first.size(), 1u);
  const std::string holder = first[0].identity;
  dispatcher_.on_process_exited(holder == "w1" ? 100 : 200, clock_.now());
  auto second = take_items();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].body.get_int("attempt"), 2);
  result(holder, "a", 1, true);  // the dead holder's late answer
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  EXPECT_EQ(dispatcher_.counters().stale_results, 1u);
  result(second[0].identity, "a", 2, true);
  EXPECT_EQ(dispatcher_.take_completions().size(), 1u);
}

TEST_F(DispatcherTest, ProcessExitRedeliversWhatTheWorkerHeld) {
  hello("w1", 2, 100);
  submit("a");
  submit("b");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 2u);
  hello("w2", 2, 200);
  take();
  dispatcher_.on_process_exited(100, clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 2u);
  for (const auto& i : items) EXPECT_EQ(i.identity, "w2");
  EXPECT_EQ(dispatcher_.counters().redelivered, 2u);
}

TEST_F(DispatcherTest, SilentWorkerIsLostAfterItsLiveness) {
  hello("w1", 1);
  submit("a");
  dispatcher_.pump(clock_.now());
  take();
  tick(2s, /*silent=*/true);
  EXPECT_EQ(dispatcher_.roster().size(), 1u);
  tick(1500ms, /*silent=*/true);
  EXPECT_EQ(dispatcher_.roster().size(), 0u);
  EXPECT_EQ(dispatcher_.queued(), 1u);
}

TEST_F(DispatcherTest, HeartbeatsKeepAWorkerAlive) {
  hello("w1", 1);
  for (int i = 0; i < 10; ++i) tick(900ms);
  EXPECT_EQ(dispatcher_.roster().size(), 1u);
}

TEST_F(DispatcherTest, SendsHeartbeatsEachInterval) {
  hello("w1", 1);
  take();
  tick(1s);
  auto sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, MessageType::kBrokerHeartbeat);
  tick(500ms);
  EXPECT_TRUE(take().empty());
}

TEST_F(DispatcherTest, PassedDeadlineCancelsOnTheWorkerAndRetriesAsTimeout) {
  hello("w1", 2);
  submit("a", /*max_attempts=*/2, /*timeout_ms=*/1000);
  dispatcher_.pump(clock_.now());
  take();
  tick(1001ms);
  EXPECT_TRUE(sent_type(take(), MessageType::kCancelItem));
  EXPECT_EQ(dispatcher_.counters().timeouts, 1u);
  EXPECT_EQ(dispatcher_.item_state("a"), "retry_wait");
  tick(2s);
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].body.get_int("attempt"), 2);
}

TEST_F(DispatcherTest, TimedOutAttemptKeepsItsCreditUntilTheWorkerLetsGo) {
  hello("w1", 1);
  submit("a", 2, 1000);
  dispatcher_.pump(clock_.now());
  take();
  tick(1001ms);
  tick(2s);  // retry due, but w1 has not let go of attempt 1
  EXPECT_TRUE(take_items().empty());
  result("w1", "a", 1, false, "cancelled");  // it lets go
  dispatcher_.pump(clock_.now());
  EXPECT_EQ(take_items().size(), 1u);
}

TEST_F(DispatcherTest, RetryableFailureIsRetriedUntilMaxAttempts) {
  hello("w1", 1);
  submit("a", 3);
  for (uint32_t attempt = 1; attempt <= 3; ++attempt) {
    tick(5s);
    auto items = take_items();
    ASSERT_EQ(items.size(), 1u) << "attempt " << attempt;
    result("w1", "a", attempt, false, "server_error");
    if (attempt < 3) {
      EXPECT_TRUE(dispatcher_.take_completions().empty());
    }
  }
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_FALSE(done[0].result.get_bool("success"));
  EXPECT_EQ(done[0].result.get_int("attempts"), 3);
  EXPECT_EQ(dispatcher_.counters().retried, 2u);
}

// A step result's usage: `in` input tokens, one output token, `cost` (null: unknown).
Value usage(int64_t in, Value cost) {
  Value u;
  u["input_tokens"] = in;
  u["output_tokens"] = 1;
  u["cost_usd"] = std::move(cost);
  return u;
}

TEST_F(DispatcherTest, TheUsageOfRetriedAttemptsCountsInTheFinalResult) {
  hello("w1", 1);
  submit("a", 2);
  tick(5s);
  ASSERT_EQ(take_items().size(), 1u);
  Value failed;
  failed["success"] = false;
  failed["error"] = "lost the race";
  failed["error_code"] = "server_error";
  failed["usage"] = usage(11, Value(0.5));
  deliver("w1", MessageType::kWorkResult, protocol::to_body(protocol::WorkResult{"a", 1, failed}));
  tick(5s);
  ASSERT_EQ(take_items().size(), 1u);
  Value ok;
  ok["success"] = true;
  ok["usage"] = usage(22, Value(0.25));
  deliver("w1", MessageType::kWorkResult, protocol::to_body(protocol::WorkResult{"a", 2, ok}));
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  const Value* total = done[0].result.find("usage");
  ASSERT_NE(total, nullptr);
  EXPECT_EQ(total->get_int("input_tokens"), 33);  // both attempts were paid for
  EXPECT_EQ(total->get_int("output_tokens"), 2);
  EXPECT_DOUBLE_EQ(total->find("cost_usd")->as_double(), 0.75);
}

// A claude_session answer saved by an attempt whose save got no reply is paid once: its failure
// reported the tokens, so the retry that reuses the saved answer does not count them again.
// An answer whose attempt never reported (its worker died after the save) counts when reused.
TEST_F(DispatcherTest, AReusedAnswerIsCountedOnceWhateverAttemptReportedIt) {
  hello("w1", 1);
  Value reused;
  reused["success"] = true;
  reused["text"] = "the answer";
  reused["reused_usage"] = usage(20, Value());

  submit("a", 2);
  tick(5s);
  ASSERT_EQ(take_items().size(), 1u);
  Value unanswered;
  unanswered["success"] = false;
  unanswered["error"] = "session \"s\": saving the answer: no answer from the registry";
  unanswered["error_code"] = "unavailable";
  unanswered["usage"] = usage(20, Value(0.5));
  unanswered["answer_may_be_saved"] = true;
  deliver("w1", MessageType::kWorkResult,
          protocol::to_body(protocol::WorkResult{"a", 1, unanswered}));
  tick(5s);
  ASSERT_EQ(take_items().size(), 1u);
  deliver("w1", MessageType::kWorkResult, protocol::to_body(protocol::WorkResult{"a", 2, reused}));
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  const Value* once = done[0].result.find("usage");
  ASSERT_NE(once, nullptr);
  EXPECT_EQ(once->get_int("input_tokens"), 20);
  EXPECT_DOUBLE_EQ(once->find("cost_usd")->as_double(), 0.5);  // known: the failure priced it
  EXPECT_EQ(done[0].result.find("reused_usage"), nullptr) << "folded into usage, not shown twice";

  submit("b", 2);
  tick(5s);
  ASSERT_EQ(take_items().size(), 1u);
  deliver("w1", MessageType::kWorkResult, protocol::to_body(protocol::WorkResult{"b", 1, reused}));
  done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  const Value* counted = done[0].result.find("usage");
  ASSERT_NE(counted, nullptr) << "paid by an attempt that never reported it";
  EXPECT_EQ(counted->get_int("input_tokens"), 20);
  EXPECT_TRUE(counted->find("cost_usd")->is_null());
  EXPECT_EQ(done[0].result.find("reused_usage"), nullptr);

  // The unanswered save never reached the registry; a later attempt paid again, saved, and
  // died; the one after reuses that turn: other tokens, another call, counted too.
  submit("c", 3);
  tick(5s);
  ASSERT_EQ(take_items().size(), 1u);
  deliver("w1", MessageType::kWorkResult,
          protocol::to_body(protocol::WorkResult{"c", 1, unanswered}));
  tick(5s);
  ASSERT_EQ(take_items().size(), 1u);
  Value other = reused;
  other["reused_usage"] = usage(30, Value());
  deliver("w1", MessageType::kWorkResult, protocol::to_body(protocol::WorkResult{"c", 2, other}));
  done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result.find("usage")->get_int("input_tokens"), 50);
  EXPECT_TRUE(done[0].result.find("usage")->find("cost_usd")->is_null());
}

TEST_F(DispatcherTest, ARetryWaitsAtLeastTheRetryAfterTheProviderAskedFor) {
  hello("w1", 1);
  submit("a", 2);  // backoff: 100 ms base, 1 s cap
  dispatcher_.pump(clock_.now());
  take();
  Value r;
  r["success"] = false;
  r["error"] = "anthropic: 429 rate_limit_error (the provider asks to wait 120 s)";
  r["error_code"] = "rate_limit";
  r["retry_after_ms"] = 120000;
  deliver("w1", MessageType::kWorkResult, protocol::to_body(protocol::WorkResult{"a", 1, r}));
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  tick(119s);
  EXPECT_TRUE(take_items().empty());
  tick(1s);
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].body.get_int("attempt"), 2);
}

TEST_F(DispatcherTest, AProviderWaitOverTheBrokersMaximumIsNotRetried) {
  hello("w1", 1);
  submit("a", 3);
  dispatcher_.pump(clock_.now());
  take();
  Value r;
  r["success"] = false;
  r["error"] = "gemini: 429 RESOURCE_EXHAUSTED: quota";
  r["error_code"] = "rate_limit";
  r["retry_after_ms"] = 3600000;  // over the default 10 minutes
  deliver("w1", MessageType::kWorkResult, protocol::to_body(protocol::WorkResult{"a", 1, r}));
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result.get_string("error_code"), "rate_limit");
  EXPECT_NE(
      done[0].result.get_string("error").find("not retried: the provider asks to wait 3600000 ms"),
      std::string::npos);
  EXPECT_EQ(dispatcher_.counters().retried, 0u);
}

TEST_F(DispatcherTest, EachAttemptTellsTheWorkerTheRetriesLeftAfterIt) {
  hello("w1", 1);
  submit("a", 3, 10000, "", true);
  for (int64_t left : {2, 1, 0}) {
    tick(5s);
    auto items = take_items();
    ASSERT_EQ(items.size(), 1u) << left;
    const Value* retry = items[0].body.find("retry");
    ASSERT_TRUE(retry) << left;
    EXPECT_EQ(retry->get_int("left"), left);
    result("w1", "a", static_cast<uint32_t>(3 - left), false, "server_error");
  }
}

TEST_F(DispatcherTest, TheOutlookCarriesTheLongestProviderWaitTheBrokerHonours) {
  // A provider asking for longer fails the item (above): its worker must know this is the end.
  DispatchConfig c = config();
  c.max_retry_after = 90s;
  Dispatcher dispatcher(c, 42);
  dispatcher.on_worker_message(
      "w1",
      protocol::Message{MessageType::kWorkerHello,
                        protocol::to_body(protocol::WorkerHello{"w1", 100, "", 1, Value::array()})},
      clock_.now());
  WorkSpec spec;
  spec.item_id = spec.run_id = spec.step_name = "a";
  spec.step_type = "claude_robust";
  spec.timeout_ms = 10000;
  spec.retry.max_attempts = 3;
  spec.tell_retries = true;
  dispatcher.submit(std::move(spec), clock_.now());
  dispatcher.pump(clock_.now());
  std::vector<protocol::WorkItem> items;
  for (const auto& frame : dispatcher.take_outbox()) {
    if (auto item = protocol::decode_work_item(frame.envelope); item.ok()) items.push_back(*item);
  }
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].retry.has_value());
  EXPECT_EQ(items[0].retry->retries_left, 2);
  EXPECT_EQ(items[0].retry->max_retry_after_ms, 90000);
  EXPECT_TRUE(items[0].retry->retries(ErrorCode::kRateLimited, 90000));
  EXPECT_FALSE(items[0].retry->retries(ErrorCode::kRateLimited, 90001));
}

TEST_F(DispatcherTest, AnItemThatNeedNotKnowItsRetriesIsNotToldThem) {
  hello("w1", 1);
  submit("a", 3);
  tick(5s);
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].body.find("retry"), nullptr);  // bytes on every item otherwise
}

TEST_F(DispatcherTest, NonRetryableFailureCompletesAtOnce) {
  hello("w1", 1);
  submit("a", 5);
  dispatcher_.pump(clock_.now());
  take();
  result("w1", "a", 1, false, "step_failed");
  EXPECT_EQ(dispatcher_.take_completions().size(), 1u);
}

TEST_F(DispatcherTest, ItemThatKeepsKillingWorkersIsGivenUpAsPoison) {
  for (int death = 1; death <= 3; ++death) {
    hello("w" + std::to_string(death), 1, death);
    if (death == 1) submit("bad");
    dispatcher_.pump(clock_.now());
    ASSERT_EQ(take_items().size(), 1u);
    dispatcher_.on_process_exited(death, clock_.now());
  }
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].result.get_bool("poison"));
  EXPECT_EQ(dispatcher_.counters().poisoned, 1u);
}

TEST_F(DispatcherTest, UnknownWorkerIsAskedToSayHello) {
  deliver("ghost", MessageType::kWorkerHeartbeat, protocol::to_body(protocol::Heartbeat{1}));
  auto sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, MessageType::kReconnect);
}

TEST_F(DispatcherTest, ADecodedResultCompletesTheItemAndCountsAsHearingFromTheWorker) {
  hello("w1", 1);
  submit("a");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  clock_.advance(2500ms);  // no heartbeat: only the result says the worker is alive
  Value r;
  r["success"] = true;
  dispatcher_.on_work_result("w1", protocol::WorkResult{"a", 1, r}, clock_.now());
  EXPECT_EQ(dispatcher_.take_completions().size(), 1u);
  auto sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, MessageType::kResultAck);
  tick(1s, /*silent=*/true);  // 3.5 s after the hello, 1 s after the result
  EXPECT_NE(dispatcher_.roster().find("w1"), nullptr);
  EXPECT_EQ(dispatcher_.counters().unknown_workers, 0u);
}

TEST_F(DispatcherTest,
       AnUnknownWorkersResultWaitsForItsHelloAndItIsToldToSayHelloOncePerHeartbeat) {
  hello("old", 2);
  submit("a");
  submit("b");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 2u);
  Value r;
  r["success"] = true;
  dispatcher_.on_work_result("new", protocol::WorkResult{"a", 1, r}, clock_.now());
  dispatcher_.on_work_result("new", protocol::WorkResult{"b", 1, r}, clock_.now());
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  auto reconnects = [&] {
    int n = 0;
    for (const auto& s : take()) n += s.type == MessageType::kReconnect && s.identity == "new";
    return n;
  };
  EXPECT_EQ(reconnects(), 1);
  clock_.advance(1s);
  dispatcher_.on_work_result("new", protocol::WorkResult{"a", 1, r}, clock_.now());
  EXPECT_EQ(reconnects(), 1);
  EXPECT_EQ(dispatcher_.counters().unknown_workers, 3u);
  // The process behind "old" on its new connection: its results sent again after the hello.
  hello_as("new", "old", 2, 100);
  dispatcher_.on_work_result("new", protocol::WorkResult{"a", 1, r}, clock_.now());
  dispatcher_.on_work_result("new", protocol::WorkResult{"b", 1, r}, clock_.now());
  EXPECT_EQ(dispatcher_.take_completions().size(), 2u);
  EXPECT_EQ(dispatcher_.counters().stale_results, 0u);
}

TEST_F(DispatcherTest, AResultBodyThatDoesNotDecodeEndsItsAttemptAndCountsAsHearingFromTheWorker) {
  hello("w1", 1);
  submit("a");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  clock_.advance(2500ms);
  Value no_result;
  no_result["id"] = "a";
  no_result["attempt"] = 1;
  deliver("ghost", MessageType::kWorkResult, no_result);  // not its attempt: nothing ends
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  deliver("w1", MessageType::kWorkResult, no_result);
  // Now, not at its deadline (300 s by default): the attempt it names fails, saying why.
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result.get_string("error_code"), "internal");
  EXPECT_NE(done[0].result.get_string("error").find("the worker's result could not be read"),
            std::string::npos)
      << done[0].result.get_string("error");
  EXPECT_EQ(dispatcher_.in_flight(), 0u);
  tick(1s, /*silent=*/true);
  EXPECT_NE(dispatcher_.roster().find("w1"), nullptr);
  // The unknown sender is still told to say hello.
  auto sent = take();
  EXPECT_TRUE(std::any_of(sent.begin(), sent.end(), [](const Sent& s) {
    return s.type == MessageType::kReconnect && s.identity == "ghost";
  }));
}

TEST_F(DispatcherTest, AResultWithoutASuccessFlagOrAReasonFailsSayingSo) {
  hello("w1", 2);
  submit("a");
  submit("b");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 2u);
  Value no_flag;
  no_flag["success"] = "yes";
  no_flag["usage"]["input_tokens"] = 7;
  deliver("w1", MessageType::kWorkResult, protocol::to_body(protocol::WorkResult{"a", 1, no_flag}));
  Value no_reason;
  no_reason["success"] = false;
  deliver("w1", MessageType::kWorkResult,
          protocol::to_body(protocol::WorkResult{"b", 1, no_reason}));
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 2u);
  for (const auto& c : done) {
    EXPECT_FALSE(c.success);
    EXPECT_FALSE(c.result.get_string("error").empty()) << c.item_id;
  }
  const auto& a = done[0].item_id == "a" ? done[0] : done[1];
  EXPECT_EQ(a.result.get_string("error"),
            "the worker's result has no success flag (true or false)");
  EXPECT_EQ(a.result.find("usage")->get_int("input_tokens"), 7);  // paid for all the same
}

TEST_F(DispatcherTest, AResultOnANewConnectionIsTakenOnceThatConnectionSaysHello) {
  hello_as("old", "workers.1", 1, 100);
  submit("a");
  dispatcher_.pump(clock_.now());
  take();
  result("new", "a", 1, true);  // the worker reconnected before answering
  EXPECT_TRUE(dispatcher_.take_completions().empty()) << "whose attempt it was is not known yet";
  EXPECT_TRUE(acked(take()).empty()) << "so it must come again";
  hello_as("new", "workers.1", 1, 100);
  result("new", "a", 1, true);  // sent again after the hello
  EXPECT_EQ(dispatcher_.take_completions().size(), 1u);
  EXPECT_EQ(acked(take()), std::vector<std::string>{"a@1"});
}

TEST_F(DispatcherTest, AnotherWorkersAnswerForTheSameAttemptNumberIsNotTaken) {
  // After a broker restart attempt numbers start again: w2 may answer for an attempt 1 the
  // previous broker sent it (and cancelled), while this broker's attempt 1 runs at w1.
  hello("w1", 1, 100);
  hello("w2", 1, 200);
  submit("a");
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  const std::string holder = items[0].identity;
  const std::string other = holder == "w1" ? "w2" : "w1";
  result(other, "a", 1, false, "cancelled");
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  EXPECT_EQ(dispatcher_.counters().stale_results, 1u);
  EXPECT_EQ(dispatcher_.roster().find(holder)->held.size(), 1u) << "its slot is still taken";
  result(holder, "a", 1, true);
  ASSERT_EQ(dispatcher_.take_completions().size(), 1u);
  EXPECT_EQ(dispatcher_.roster().find(holder)->held.size(), 0u);
}

TEST_F(DispatcherTest, CancelRunDropsQueuedItemsAndCancelsInFlightOnes) {
  hello("w1", 1);
  submit("a");
  submit("b");
  dispatcher_.pump(clock_.now());
  take();
  dispatcher_.cancel_run("run", clock_.now());
  auto sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, MessageType::kCancelItem);
  EXPECT_EQ(dispatcher_.queued(), 0u);
  EXPECT_EQ(dispatcher_.in_flight(), 0u);
  result("w1", "a", 1, false, "cancelled");
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  dispatcher_.pump(clock_.now());
  EXPECT_TRUE(take_items().empty());
}

TEST_F(DispatcherTest, AnItemSubmittedAgainWhileItsCancelledAttemptRunsIsNotAnsweredByThatAttempt) {
  // runs cancel, then runs resume at once: the worker may still run the cancelled attempt.
  hello("w1", 2);
  submit("a");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  dispatcher_.cancel_run("run", clock_.now());
  take();
  submit("a");  // the resumed run's item, the same id
  dispatcher_.pump(clock_.now());
  auto again = take_items();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].body.get_int("attempt"), 2) << "the cancelled attempt was 1";
  // The cancelled attempt's late answer is not the new attempt's.
  result("w1", "a", 1, true);
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  result("w1", "a", 2, true);
  EXPECT_EQ(dispatcher_.take_completions().size(), 1u);
  // Both attempts gave their credit back.
  EXPECT_EQ(dispatcher_.roster().find("w1")->held.size(), 0u);
}

TEST_F(DispatcherTest, TheCancelledAttemptsAnswerIsNotTakenForAnItemSubmittedAgainAndStillQueued) {
  hello("w1", 1);  // one slot, which the cancelled attempt holds until it answers
  submit("a");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  dispatcher_.cancel_run("run", clock_.now());
  take();
  submit("a");
  dispatcher_.pump(clock_.now());
  EXPECT_TRUE(take_items().empty());
  result("w1", "a", 1, false, "cancelled");  // the cancelled attempt lets go
  EXPECT_TRUE(dispatcher_.take_completions().empty()) << "the resumed item took a cancelled answer";
  dispatcher_.pump(clock_.now());
  auto again = take_items();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].body.get_int("attempt"), 2);
}

// The broker restarted between a cancel and the resume: only the worker's hello tells the new
// one that the attempt it still holds was cancelled.
TEST_F(DispatcherTest, AnAttemptAWorkerSaysItIsCancellingIsNotAdoptedByTheItemSubmittedAgain) {
  submit("a");  // the resumed run's item, queued while the workers are away
  hello_cancelling("w1", 2, "a", 1);
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u) << "the cancelled attempt was adopted";
  EXPECT_EQ(items[0].body.get_int("attempt"), 2);
  EXPECT_EQ(dispatcher_.counters().adopted, 0u);
  result("w1", "a", 1, false, "cancelled");
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  result("w1", "a", 2, true);
  EXPECT_EQ(dispatcher_.take_completions().size(), 1u);
  EXPECT_EQ(dispatcher_.roster().find("w1")->held.size(), 0u);
}

TEST_F(DispatcherTest, AnAttemptAWorkerSaysItIsCancellingDoesNotAnswerForTheItemSubmittedLater) {
  hello_cancelling("w1", 1, "a", 1);  // its one slot is taken until the attempt lets go
  hello("w2", 1);
  submit("a");
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].identity, "w2");
  EXPECT_EQ(items[0].body.get_int("attempt"), 2);
  result("w1", "a", 1, false, "cancelled");
  EXPECT_TRUE(dispatcher_.take_completions().empty()) << "taken for the attempt at w2";
  result("w2", "a", 2, true);
  EXPECT_EQ(dispatcher_.take_completions().size(), 1u);
}

TEST_F(DispatcherTest, AnAttemptAWorkerStopsAtItsOwnDeadlineMovesToItsNewConnection) {
  // The worker cancels an attempt whose deadline passed by itself, and reconnects meanwhile:
  // its hello says cancelling, and the attempt is still this broker's to wait for.
  hello_as("c1", "workers.1", 1, 100);
  submit("a");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  Value held = Value::array();
  held.push_back(
      Value(Value::Object{{"id", Value("a")}, {"attempt", Value(1)}, {"cancelling", Value(true)}}));
  alive_.push_back("c2");
  deliver("c2", MessageType::kWorkerHello,
          protocol::to_body(protocol::WorkerHello{"workers.1", 100, "", 1, held}));
  EXPECT_EQ(dispatcher_.holder_of("a"), "c2");
  result("c2", "a", 1, false, "timeout");
  ASSERT_EQ(dispatcher_.take_completions().size(), 1u);
  EXPECT_EQ(dispatcher_.roster().find("c2")->held.size(), 0u);
}

TEST_F(DispatcherTest, ACancelledAttemptsAnswerIsNotAdoptedByAnItemSubmittedAgain) {
  // The answer a worker sends again to the next broker (it was never acknowledged).
  submit("a");
  hello("w1", 1);
  result("w1", "a", 1, false, "cancelled");
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  EXPECT_EQ(dispatcher_.counters().adopted, 0u);
  dispatcher_.pump(clock_.now());
  EXPECT_EQ(take_items().size(), 1u);
  // The same while runs replay: the answer waits for its item, which then runs.
  dispatcher_.set_replaying(true);
  result("w1", "b", 3, false, "cancelled");
  submit("b");
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  result("w1", "a", 1, true);  // frees w1's slot
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].body.get_string("id"), "b");
  EXPECT_EQ(items[0].body.get_int("attempt"), 4);
}

TEST_F(DispatcherTest, AnAttemptAWorkerRefusedForWantOfASlotIsSentAgainAndIsNoFailure) {
  hello("w1", 1);
  submit("a", /*max_attempts=*/1, 10000, "anthropic");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  refuses("w1", "a", 1);
  EXPECT_TRUE(dispatcher_.take_completions().empty()) << "its one attempt was not spent";
  EXPECT_EQ(dispatcher_.counters().refused, 1u);
  EXPECT_EQ(dispatcher_.item_state("a"), "retry_wait");
  EXPECT_EQ(dispatcher_.provider_status(clock_.now()).find("anthropic")->get_int("errors"), 0);
  dispatcher_.pump(clock_.now());
  EXPECT_TRUE(take_items().empty()) << "not straight back to a worker that is full";
  tick(100ms);
  auto again = take_items();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].body.get_int("attempt"), 2);
  result("w1", "a", 2, true);
  ASSERT_EQ(dispatcher_.take_completions().size(), 1u);
}

TEST_F(DispatcherTest, SlotsAWorkersHeartbeatShowsBusyWithWorkNotSentByThisBrokerAreNotUsed) {
  hello("w1", 2);
  heartbeat("w1", 0);  // both slots busy, with nothing this broker sent
  submit("a");
  submit("b");
  dispatcher_.pump(clock_.now());
  EXPECT_TRUE(take_items().empty()) << "it would refuse them";
  EXPECT_EQ(dispatcher_.roster().find("w1")->untracked, 2u);
  heartbeat("w1", 1);  // one of them is done
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  heartbeat("w1", 0);  // busy: the item it was sent, and the other it was not
  dispatcher_.pump(clock_.now());
  EXPECT_TRUE(take_items().empty());
  EXPECT_EQ(dispatcher_.roster().find("w1")->untracked, 1u);
  heartbeat("w1", 1);  // only the item it was sent
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  EXPECT_EQ(dispatcher_.roster().find("w1")->untracked, 0u);
}

TEST_F(DispatcherTest, AWorkerThatRefusedAnAttemptGetsNoMoreUntilItsHeartbeatShowsAFreeSlot) {
  hello("w1", 2);
  submit("a");
  submit("b");
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 2u);
  refuses("w1", "b", 1);
  tick(200ms, /*silent=*/true);
  EXPECT_TRUE(take_items().empty()) << "not back to a worker that said it is full";
  EXPECT_EQ(dispatcher_.item_state("b"), "queued");
  heartbeat("w1", 1);  // busy with `a` alone now
  dispatcher_.pump(clock_.now());
  auto again = take_items();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].body.get_string("id"), "b");
  EXPECT_EQ(again[0].body.get_int("attempt"), 2);
}

TEST_F(DispatcherTest, ByeRedeliversAtOnce) {
  hello("w1", 1);
  hello("w2", 1);
  submit("a");
  dispatcher_.pump(clock_.now());
  auto first = take_items();
  ASSERT_EQ(first.size(), 1u);
  deliver(first[0].identity, MessageType::kWorkerBye, Value::object());
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_NE(items[0].identity, first[0].identity);
}

TEST_F(DispatcherTest, EveryResultIsAcknowledgedOnceTheOutboxIsTaken) {
  hello("w1", 2);
  submit("a");
  dispatcher_.pump(clock_.now());
  take();
  result("w1", "a", 1, true);
  result("w1", "ghost", 7, true);  // unknown: acknowledged too, so the worker forgets it
  auto sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, MessageType::kResultAck);
  ASSERT_EQ(sent[0].body.find("acks")->size(), 2u);
  EXPECT_EQ(sent[0].body.find("acks")->as_array()[0].get_string("id"), "a");
}

TEST_F(DispatcherTest, QueuedItemsAWorkerDeclaresHeldAreAdoptedNotDispatchedAgain) {
  submit("a");
  submit("b");
  Value held = Value::array();
  held.push_back(Value(Value::Object{{"id", Value("a")}, {"attempt", Value(4)}}));
  protocol::WorkerHello h{"w1", 1, "", 2, held};
  alive_.push_back("w1");
  deliver("w1", MessageType::kWorkerHello, protocol::to_body(h));
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);  // a is adopted, only b goes out
  EXPECT_EQ(items[0].body.get_string("id"), "b");
  EXPECT_EQ(dispatcher_.counters().adopted, 1u);
  result("w1", "a", 4, true);  // the adopted attempt's result counts
  EXPECT_EQ(dispatcher_.take_completions().size(), 1u);
}

TEST_F(DispatcherTest, WhileRunsReplayAResultForAnItemNotSubmittedYetWaitsForIt) {
  dispatcher_.set_replaying(true);
  hello("w1", 2);
  result("w1", "late", 3, true);  // finished under the previous broker, not replayed to yet
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  EXPECT_EQ(dispatcher_.counters().stale_results, 0u);
  EXPECT_TRUE(acked(take()).empty());  // not acknowledged before it is recorded
  submit("late");
  auto completions = dispatcher_.take_completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].item_id, "late");
  EXPECT_TRUE(completions[0].result.get_bool("success"));
  EXPECT_EQ(dispatcher_.counters().adopted, 1u);
  EXPECT_EQ(dispatcher_.counters().dispatched, 0u);
  tick(2s);  // past any hold: nothing goes out for it
  const auto sent = take();
  EXPECT_FALSE(sent_type(sent, MessageType::kWorkItem));
  EXPECT_EQ(acked(sent), std::vector<std::string>{"late@3"});
}

TEST_F(DispatcherTest, WhileRunsReplayAnItemAWorkerStillHoldsIsAdoptedWhenSubmitted) {
  dispatcher_.set_replaying(true);
  Value held = Value::array();
  held.push_back(Value(Value::Object{{"id", Value("running")}, {"attempt", Value(2)}}));
  alive_.push_back("w1");
  deliver("w1", MessageType::kWorkerHello, protocol::to_body(protocol::WorkerHello{"w1", 1, "", 2, held}));
  hello("w2", 2);
  submit("running");
  tick(2s);
  EXPECT_FALSE(sent_type(take(), MessageType::kWorkItem));  // not sent to w2 as well
  EXPECT_EQ(dispatcher_.item_state("running"), "in_flight");
  EXPECT_EQ(dispatcher_.holder_of("running"), "w1");
  result("w1", "running", 2, true);
  ASSERT_EQ(dispatcher_.take_completions().size(), 1u);
  EXPECT_EQ(dispatcher_.counters().adopted, 1u);
}

TEST_F(DispatcherTest, WhenTheReplayEndsWhatNoRunAskedForIsStaleAndAcknowledged) {
  dispatcher_.set_replaying(true);
  hello("w1", 2);
  result("w1", "gone", 1, true);
  EXPECT_TRUE(acked(take()).empty());
  dispatcher_.set_replaying(false);
  EXPECT_EQ(dispatcher_.counters().stale_results, 1u);
  EXPECT_EQ(acked(take()), std::vector<std::string>{"gone@1"});
  // From now on an unknown item's result is stale at once, as without a replay.
  result("w1", "other", 1, true);
  EXPECT_EQ(dispatcher_.counters().stale_results, 2u);
  submit("gone");
  EXPECT_TRUE(dispatcher_.take_completions().empty());
}

TEST_F(DispatcherTest, NothingIsDispatchedDuringTheHold) {
  dispatcher_.hold_dispatch_until(clock_.now() + 1500ms);
  hello("w1", 1);
  submit("a");
  dispatcher_.pump(clock_.now());
  EXPECT_TRUE(take_items().empty());
  EXPECT_LE(dispatcher_.next_deadline(clock_.now()), clock_.now() + 1500ms);
  tick(1500ms);
  EXPECT_EQ(take_items().size(), 1u);
}

TEST_F(DispatcherTest, ProviderConcurrencyLimitHoldsItemsBackButNotOthers) {
  hello("w1", 5);
  for (int i = 0; i < 4; ++i) submit("llm" + std::to_string(i), 1, 10000, "anthropic");
  submit("plain");
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 3u);  // two provider calls (its limit) and the plain item
  int plain = 0;
  std::string llm;
  for (const auto& i : items) {
    plain += i.body.get_string("id") == "plain" ? 1 : 0;
    if (i.body.get_string("id") != "plain") llm = i.body.get_string("id");
  }
  EXPECT_EQ(plain, 1);
  result("w1", llm, 1, true);
  dispatcher_.pump(clock_.now());
  EXPECT_EQ(take_items().size(), 1u);
}

TEST_F(DispatcherTest, OpenCircuitFailsItemsFastForEveryWorker) {
  open_anthropic_circuit();
  submit("c", 1, 10000, "anthropic");
  dispatcher_.pump(clock_.now());
  EXPECT_TRUE(take_items().empty());
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result.get_string("error_code"), "circuit_open");
  EXPECT_NE(done[0].result.get_string("error").find("anthropic"), std::string::npos);
  EXPECT_EQ(dispatcher_.provider_status(clock_.now()).find("anthropic")->get_string("state"), "open");
}

TEST_F(DispatcherTest, AtItsLastChanceAnItemThatFallsBackWithoutItsProviderIsSentToFallBack) {
  // claude_robust with fallback_action skip or mock_response, its provider's circuit open.
  open_anthropic_circuit();
  ASSERT_EQ(dispatcher_.provider_status(clock_.now()).find("anthropic")->get_string("state"),
            "open");
  auto robust = [&](const std::string& id, uint32_t max_attempts) {
    WorkSpec spec = spec_of(id, max_attempts, 10000, "anthropic");
    spec.step_type = "claude_robust";
    spec.tell_retries = true;
    spec.falls_back_without_provider = true;
    dispatcher_.submit(std::move(spec), clock_.now());
  };
  robust("last", 1);
  robust("more", 3);  // not its last chance: it waits to try the provider again
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].body.get_string("id"), "last");
  const Value* retry = items[0].body.find("retry");
  ASSERT_NE(retry, nullptr);
  EXPECT_NE(retry->get_string("circuit_open").find("circuit breaker for provider anthropic"),
            std::string::npos);
  EXPECT_EQ(dispatcher_.counters().retried, 1u);  // "more"
  const Value anthropic = *dispatcher_.provider_status(clock_.now()).find("anthropic");
  EXPECT_EQ(anthropic.get_int("in_flight"), 0) << "no call of the provider is under way";
  Value skipped;
  skipped["success"] = true;
  skipped["skipped"] = true;
  skipped["fallback"] = "skip";
  skipped["original_error_code"] = "circuit_open";
  deliver("w1", MessageType::kWorkResult,
          protocol::to_body(protocol::WorkResult{"last", 1, skipped}));
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].result.get_bool("skipped"));
  // The breaker heard nothing from an answer its provider did not give.
  const Value after = *dispatcher_.provider_status(clock_.now()).find("anthropic");
  EXPECT_EQ(after.get_int("results"), anthropic.get_int("results"));
  EXPECT_EQ(after.get_int("consecutive_failures"), anthropic.get_int("consecutive_failures"));
}

TEST_F(DispatcherTest, FallbackAnswersCountAsProviderFailuresSoTheCircuitStillOpens) {
  hello("w1", 2);
  submit("a", 1, 10000, "anthropic");
  submit("b", 1, 10000, "anthropic");
  dispatcher_.pump(clock_.now());
  take();
  for (const char* id : {"a", "b"}) {  // claude_robust with fallback_action: skip, in an outage
    Value r;
    r["success"] = true;
    r["skipped"] = true;
    r["fallback"] = "skip";
    r["original_error"] = "anthropic: could not connect";
    r["original_error_code"] = "unavailable";
    deliver("w1", MessageType::kWorkResult, protocol::to_body(protocol::WorkResult{id, 1, r}));
  }
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_TRUE(done[0].result.get_bool("success"));  // the run still has its fallback answer
  EXPECT_EQ(dispatcher_.provider_status(clock_.now()).find("anthropic")->get_string("state"),
            "open");
}

TEST_F(DispatcherTest, HalfOpenProbeThatSucceedsClosesTheCircuit) {
  hello("w1", 2);
  submit("a", 1, 10000, "anthropic");
  submit("b", 1, 10000, "anthropic");
  dispatcher_.pump(clock_.now());
  take();
  result("w1", "a", 1, false, "unavailable");
  result("w1", "b", 1, false, "unavailable");
  dispatcher_.take_completions();
  tick(10s);
  take();
  submit("probe", 1, 10000, "anthropic");
  submit("after", 1, 10000, "anthropic");
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);  // half-open: one probe
  result("w1", "probe", 1, true);
  dispatcher_.pump(clock_.now());
  EXPECT_EQ(take_items().size(), 1u);
  EXPECT_EQ(dispatcher_.provider_status(clock_.now()).find("anthropic")->get_string("state"), "closed");
}

TEST_F(DispatcherTest, WorkerThatKeepsACancelledAttemptIsGivenUpAndReportedForKilling) {
  hello("w1", 1, 321);
  hello("w2", 1, 654);
  submit("a", 2, 1000);
  dispatcher_.pump(clock_.now());
  auto first = take_items();
  ASSERT_EQ(first.size(), 1u);
  const std::string hung = first[0].identity;
  tick(1001ms);  // deadline: cancelled on the hung worker, retried elsewhere
  tick(2s);
  EXPECT_TRUE(dispatcher_.take_kill_requests().empty());
  tick(5s);  // the cancel grace ends and it still holds the item
  auto kills = dispatcher_.take_kill_requests();
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].worker_name, hung);
  EXPECT_EQ(dispatcher_.roster().find(hung), nullptr);
  EXPECT_EQ(dispatcher_.counters().workers_killed, 1u);
}

TEST_F(DispatcherTest, WorkerThatLetsGoInTimeIsKept) {
  hello("w1", 1);
  submit("a", 1, 1000);
  dispatcher_.pump(clock_.now());
  take();
  tick(1001ms);
  result("w1", "a", 1, false, "cancelled");  // it let go
  tick(5s);
  EXPECT_TRUE(dispatcher_.take_kill_requests().empty());
  EXPECT_NE(dispatcher_.roster().find("w1"), nullptr);
}

// A run cancelled and resumed within the cancel grace: its workers let go of the cancelled
// attempts, so the resumed items' attempts are numbered from 1 again, and may land on the same
// worker under the same number. That is the new attempt running, not the old one kept.
TEST_F(DispatcherTest, AnAttemptHandedOutAgainUnderTheSameNumberIsNotTakenForTheCancelledOne) {
  hello("w1", 1);
  submit("a", 1, 60000);
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  dispatcher_.cancel_run("run", clock_.now());
  tick(1s);
  result("w1", "a", 1, false, "cancelled");  // it let go
  dispatcher_.take_completions();
  tick(1s);
  submit("a", 1, 60000);  // resumed
  dispatcher_.pump(clock_.now());
  auto again = take_items();
  ASSERT_EQ(again.size(), 1u);
  ASSERT_EQ(again[0].identity, "w1");
  ASSERT_EQ(again[0].body.get_int("attempt"), 1);
  tick(5s);  // the first cancel's grace ends while w1 runs the new attempt 1
  EXPECT_TRUE(dispatcher_.take_kill_requests().empty());
  EXPECT_NE(dispatcher_.roster().find("w1"), nullptr);
  EXPECT_EQ(dispatcher_.counters().workers_killed, 0u);
  EXPECT_EQ(dispatcher_.item_state("a"), "in_flight");
}

TEST_F(DispatcherTest, CountsStayRightThroughEveryTransition) {
  hello("w1", 1);
  submit("a", 2, 1000);
  submit("b");
  EXPECT_EQ(dispatcher_.queued(), 2u);
  dispatcher_.pump(clock_.now());
  EXPECT_EQ(dispatcher_.queued(), 1u);
  EXPECT_EQ(dispatcher_.in_flight(), 1u);
  tick(1001ms);  // a times out: retry wait
  EXPECT_EQ(dispatcher_.in_flight(), 0u);
  EXPECT_EQ(dispatcher_.waiting_retry() + dispatcher_.queued(), 2u);
  dispatcher_.cancel_run("run", clock_.now());
  EXPECT_EQ(dispatcher_.outstanding(), 0u);
  EXPECT_EQ(dispatcher_.queued() + dispatcher_.in_flight() + dispatcher_.waiting_retry(), 0u);
}

// No wait is infinite: an item that no worker takes fails at its timeout, saying why.
TEST_F(DispatcherTest, AnItemNoWorkerTakesFailsAsUnavailableAtItsTimeout) {
  submit("a", 1, /*timeout_ms=*/500);
  EXPECT_EQ(dispatcher_.next_deadline(clock_.now()), clock_.now() + 500ms);
  tick(499ms);
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  tick(1ms);
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_FALSE(done[0].result.get_bool("success"));
  EXPECT_EQ(done[0].result.get_string("error_code"), "unavailable");
  EXPECT_NE(done[0].result.get_string("error").find(
                "no worker took the item within 500 ms: no worker is connected"),
            std::string::npos)
      << done[0].result.get_string("error");
  EXPECT_EQ(done[0].result.get_int("attempts"), 0);
  EXPECT_EQ(dispatcher_.counters().queue_timeouts, 1u);
  EXPECT_EQ(dispatcher_.outstanding(), 0u);
}

// Waiting behind a provider's limit is back-pressure, not a stuck queue: the running items end
// by their deadlines at the latest, so the waiting one waits past its own timeout and goes next.
TEST_F(DispatcherTest, AnItemHeldBackByItsProvidersLimitWaitsForItsTurn) {
  hello("w1", 4);
  submit("a", 1, 10000, "anthropic");
  submit("b", 1, 10000, "anthropic");
  submit("c", 1, /*timeout_ms=*/500, "anthropic");  // max_concurrency 2: c waits
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 2u);
  tick(1500ms);  // three times c's timeout
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  EXPECT_EQ(dispatcher_.item_state("c"), "queued");
  result("w1", "a", 1, true);
  dispatcher_.pump(clock_.now());
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].body.get_string("id"), "c");
  EXPECT_EQ(dispatcher_.counters().queue_timeouts, 0u);
}

// A pool restarting (every worker gone for a moment) is not "no worker": an item fails only
// when no worker was connected for its whole timeout.
TEST_F(DispatcherTest, AnItemFailsOnlyWhenNoWorkerWasConnectedForItsWholeTimeout) {
  hello("w1", 1);
  submit("a", 1, 10000);
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  submit("b", 1, /*timeout_ms=*/500);  // waits for w1's only slot
  tick(400ms);
  deliver("w1", MessageType::kWorkerBye, Value::object());  // a queued again, as b is
  tick(100ms);  // b's first 500 ms end 100 ms after the last worker left: it waits on
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  EXPECT_EQ(dispatcher_.item_state("b"), "queued");
  tick(399ms);
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  tick(1ms);  // 500 ms without any worker
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].item_id, "b");
  EXPECT_EQ(done[0].result.get_string("error_code"), "unavailable");
  EXPECT_EQ(dispatcher_.counters().queue_timeouts, 1u);
}

TEST_F(DispatcherTest, AnItemTakenInTimeIsBoundByItsAttemptNotItsQueueWait) {
  submit("a", 1, /*timeout_ms=*/500);
  tick(300ms);
  hello("w1", 1);
  dispatcher_.pump(clock_.now());
  ASSERT_EQ(take_items().size(), 1u);
  EXPECT_EQ(dispatcher_.next_deadline(clock_.now()), clock_.now() + 500ms);  // the attempt's
  tick(400ms);  // past the queue wait's end: nothing happens to a running item
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  EXPECT_EQ(dispatcher_.item_state("a"), "in_flight");
  tick(100ms);
  auto done = dispatcher_.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result.get_string("error_code"), "timeout");
  EXPECT_EQ(dispatcher_.counters().queue_timeouts, 0u);
}

TEST_F(DispatcherTest, AQueueWaitThatEndsIsRetriedAsTheRetryPolicyAllows) {
  submit("a", /*max_attempts=*/2, /*timeout_ms=*/500);
  tick(500ms);
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  EXPECT_EQ(dispatcher_.item_state("a"), "retry_wait");
  hello("w1", 1);
  tick(1s);  // past the backoff (at most 1 s here): queued again, and a worker takes it
  auto items = take_items();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].body.get_int("attempt"), 1);
  result("w1", "a", 1, true);
  ASSERT_EQ(dispatcher_.take_completions().size(), 1u);
}

TEST_F(DispatcherTest, TheQueueWaitBeginsWhenDispatchIsNoLongerHeldAfterARestart) {
  dispatcher_.hold_dispatch_until(clock_.now() + 2s);
  submit("a", 1, /*timeout_ms=*/500);
  tick(1s);
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  tick(1499ms);
  EXPECT_TRUE(dispatcher_.take_completions().empty());
  tick(1ms);
  ASSERT_EQ(dispatcher_.take_completions().size(), 1u);
}

}  // namespace
}  // namespace pl::broker
