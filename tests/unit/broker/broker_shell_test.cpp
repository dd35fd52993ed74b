// The broker's loop with a store whose commits need a sync: work goes out at once, while replies
// to clients and acknowledgements of results wait for the sync that covers them.
#include "broker/broker_shell.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <set>

#include "common/protocol/client.h"
#include "common/protocol/envelope.h"
#include "common/protocol/work.h"
#include "tests/support/fake_signal_fd.h"
#include "tests/support/harness.h"
#include "tests/support/sync_gate.h"

namespace pl::broker {
namespace {

using namespace std::chrono_literals;
using protocol::MessageType;

// The memory store, with commits that are durable only once sync() passes a gate the test opens.
class GatedStore final : public RunStore {
 public:
  Status put_run(const StoredRun& run) override { return wrote(inner_->put_run(run)); }
  Status finish_run(const std::string& run_id, const std::string& state, const Value& result,
                    const std::string& error, int64_t finished_ms) override {
    return wrote(inner_->finish_run(run_id, state, result, error, finished_ms));
  }
  Status reopen_run(const std::string& run_id) override { return wrote(inner_->reopen_run(run_id)); }
  Status put_item_result(const std::string& run_id, const std::string& item_id,
                         const Value& result, uint64_t input_digest) override {
    return wrote(inner_->put_item_result(run_id, item_id, result, input_digest));
  }
  Status drop_failed_items(const std::string& run_id) override {
    return wrote(inner_->drop_failed_items(run_id));
  }
  Status put_dead_letter(const DeadLetter& letter) override {
    return wrote(inner_->put_dead_letter(letter));
  }
  Status commit() override {
    if (dirty_ && hold_commits) {
      if (auto st = commit_gate.wait(); !st.ok()) return st;
    }
    if (dirty_) ++commits_;
    dirty_ = false;
    return inner_->commit();
  }
  uint64_t commits() const override { return commits_; }
  bool commit_is_durable() const override { return false; }
  Status sync() override { return gate.wait(); }
  Result<std::vector<StoredRun>> unfinished_runs() override { return inner_->unfinished_runs(); }
  Result<std::optional<StoredRun>> get_run(const std::string& id) override {
    if (fail_reads) return make_error(ErrorCode::kIo, "read broker.db: Input/output error");
    return inner_->get_run(id);
  }
  Result<std::optional<StoredRun>> run_by_idempotency_key(const std::string& key) override {
    return inner_->run_by_idempotency_key(key);
  }
  Result<std::vector<StoredRun>> list_runs(size_t limit, const std::string& state) override {
    return inner_->list_runs(limit, state);
  }
  Result<size_t> item_count(const std::string& run_id) override { return inner_->item_count(run_id); }
  Result<ItemPage> item_results_page(const std::string& run_id, int64_t cursor,
                                     const ItemPageLimits& limits) override {
    return inner_->item_results_page(run_id, cursor, limits);
  }
  Status for_each_item_batch(
      const std::string& run_id,
      const std::function<void(int64_t position, std::string_view records)>& visit) override {
    return inner_->for_each_item_batch(run_id, visit);
  }
  Result<size_t> delete_run(const std::string& run_id) override {
    auto deleted = inner_->delete_run(run_id);
    if (deleted.ok()) (void)wrote(ok_status());
    return deleted;
  }
  Result<bool> purge_deleted(size_t max_batches) override {
    return inner_->purge_deleted(max_batches);
  }
  Result<std::vector<std::string>> finished_before(int64_t wall_ms, size_t limit) override {
    return inner_->finished_before(wall_ms, limit);
  }
  Result<std::string> item_batch(const std::string& run_id, int64_t position) override {
    return inner_->item_batch(run_id, position);
  }
  Result<std::vector<DeadLetter>> dead_letters(const std::string& run_id) override {
    return inner_->dead_letters(run_id);
  }

  pl::test::SyncGate gate{"fdatasync broker.db-wal: Input/output error"};
  std::atomic<bool> fail_reads{false};  // get_run fails, as a damaged disk would
  // When set, a commit that writes something waits for commit_gate (on the loop's thread).
  std::atomic<bool> hold_commits{false};
  pl::test::SyncGate commit_gate{"write broker.db-wal: Input/output error"};

 private:
  Status wrote(Status st) {
    dirty_ = true;
    return st;
  }
  std::unique_ptr<RunStore> inner_ = make_memory_run_store();
  bool dirty_ = false;
  uint64_t commits_ = 0;
};

class BrokerShellTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(signals_.ok());
    shell_ = std::make_unique<BrokerShell>(context_, config_, dispatcher_, coordinator_, api_,
                                           clock_, signals_.read_fd());
    BrokerEndpoints endpoints;
    endpoints.clients = "inproc://shell-clients";
    endpoints.extra_clients = "inproc://shell-extra-clients";
    endpoints.workers = "inproc://shell-workers";
    ASSERT_TRUE(shell_->bind(endpoints).ok());
    ASSERT_TRUE(client_.connect("inproc://shell-clients").ok());
    ASSERT_TRUE(extra_client_.connect("inproc://shell-extra-clients").ok());
    ASSERT_TRUE(worker_.connect("inproc://shell-workers").ok());
    exit_code_ = std::async(std::launch::async, [this] { return shell_->run(); });
  }
  void TearDown() override {
    store_.gate.open();
    store_.commit_gate.open();
    if (exit_code_.valid()) {
      ASSERT_TRUE(signals_.deliver(SIGTERM));
      ASSERT_EQ(exit_code_.wait_for(30s), std::future_status::ready);
      EXPECT_EQ(exit_code_.get(), 0);
    }
  }
  void submit_one(const std::string& request = "r1", const std::string& key = "") {
    protocol::SubmitRun submit;
    submit.request = request;
    submit.idempotency_key = key;
    submit.pipeline_path = "/tmp/one.yaml";
    submit.pipeline_yaml = "workflow:\n  name: one\n  steps:\n    - {name: e, type: echo, value: 1}\n";
    submit.inputs = Value::object();
    send(client_, MessageType::kSubmitRun, protocol::to_body(submit));
  }

  // The broker's bad_worker_frames counter once it reaches `expected`, or after 10 s.
  int64_t wait_for_bad_worker_frames(int64_t expected) {
    Value request;
    request["request"] = "s1";
    int64_t bad = 0;
    test::wait_until(
        [&] {
          send(client_, MessageType::kBrokerStatusRequest, request);
          auto status = next(client_, MessageType::kBrokerStatus, 1s);
          const Value* counters = status ? status->body.find("counters") : nullptr;
          bad = counters ? counters->get_int("bad_worker_frames") : 0;
          return bad >= expected;
        },
        10s);
    return bad;
  }
  static void send(net::Socket& socket, MessageType type, const Value& body) {
    ASSERT_TRUE(socket.send({protocol::encode(type, body)}).ok());
  }
  // The envelopes of the next message on `socket` within `timeout`, decoded (empty on timeout).
  static std::vector<protocol::Message> next_message(net::Socket& socket,
                                                     std::chrono::milliseconds timeout) {
    std::vector<protocol::Message> envelopes;
    test::wait_until(
        [&] {
          auto frames = socket.receive();
          if (!frames.ok() || !frames->has_value()) return false;
          for (const auto& frame : **frames) {
            auto m = protocol::decode(frame);
            EXPECT_TRUE(m.ok()) << m.error().message;
            if (m.ok()) envelopes.push_back(std::move(*m));
          }
          return true;
        },
        timeout);
    return envelopes;
  }
  // The next envelope of `type` on `socket` within `timeout` (others are skipped). A message
  // may carry several envelopes: those after the one found wait for the next call.
  std::optional<protocol::Message> next(net::Socket& socket, MessageType type,
                                        std::chrono::milliseconds timeout) {
    auto& waiting = unread_[&socket];
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      while (!waiting.empty()) {
        protocol::Message m = std::move(waiting.front());
        waiting.pop_front();
        if (m.type == type) return m;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return std::nullopt;
      for (auto& m : next_message(socket, left)) waiting.push_back(std::move(m));
    }
  }

  GatedStore store_;
  BrokerConfig config_;
  Dispatcher dispatcher_{DispatchConfig{}, 1};
  RunCoordinator coordinator_{dispatcher_, store_, RunSettings{}, 1000};
  ClientApi api_{coordinator_, dispatcher_, ClientLimits{}};
  RealClock clock_;
  net::Context context_;
  net::Socket client_{context_, net::SocketKind::kDealer};
  net::Socket extra_client_{context_, net::SocketKind::kDealer};  // on broker.clients_endpoint
  net::Socket worker_{context_, net::SocketKind::kDealer};
  test::FakeSignalFd signals_;
  std::unique_ptr<BrokerShell> shell_;
  std::future<int> exit_code_;
  std::map<net::Socket*, std::deque<protocol::Message>> unread_;  // by next()
};

TEST_F(BrokerShellTest, WorkGoesOutAtOnceWhileRepliesAndAcksWaitForTheirSync) {
  send(worker_, MessageType::kWorkerHello,
       protocol::to_body(protocol::WorkerHello{"w1", 4242, "", 1, Value::array()}));
  submit_one();

  // The accepted run's item reaches the worker before anything is durable...
  auto item = next(worker_, MessageType::kWorkItem, 10s);
  ASSERT_TRUE(item.has_value()) << "work waited for a sync";
  ASSERT_TRUE(test::wait_until([&] { return store_.gate.syncs_started() >= 1; }, 10s));
  // ...but the client is not told the run was accepted, and the result is not acknowledged.
  EXPECT_FALSE(next(client_, MessageType::kRunAccepted, 50ms).has_value());
  auto work = protocol::work_item_from(item->body);
  ASSERT_TRUE(work.ok());
  Value result;
  result["success"] = true;
  result["data"] = 1;
  send(worker_, MessageType::kWorkResult,
       protocol::to_body(protocol::WorkResult{work->item_id, work->attempt, result}));
  EXPECT_FALSE(next(worker_, MessageType::kResultAck, 50ms).has_value());

  store_.gate.open();
  auto accepted = next(client_, MessageType::kRunAccepted, 10s);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->body.get_string("request"), "r1");
  auto ack = next(worker_, MessageType::kResultAck, 10s);
  ASSERT_TRUE(ack.has_value());
}

// A submission made again (its key seen) names the run, but not before that run is durable:
// the retry of a submission whose sync has not finished must not learn of a run that a power
// loss would take back.
TEST_F(BrokerShellTest, ASubmissionMadeAgainIsAnsweredWithTheFirstRunOnceItIsDurable) {
  submit_one("r1", "job-7");
  ASSERT_TRUE(test::wait_until([&] { return store_.gate.syncs_started() >= 1; }, 10s));
  submit_one("r2", "job-7");
  EXPECT_FALSE(next(client_, MessageType::kRunAccepted, 100ms).has_value());

  store_.gate.open();
  auto first = next(client_, MessageType::kRunAccepted, 10s);
  auto second = next(client_, MessageType::kRunAccepted, 10s);
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(first->body.get_string("request"), "r1");
  EXPECT_FALSE(first->body.get_bool("submitted_before"));
  EXPECT_EQ(second->body.get_string("request"), "r2");
  EXPECT_TRUE(second->body.get_bool("submitted_before"));
  EXPECT_EQ(second->body.get_string("run"), first->body.get_string("run"));
  Value request;
  request["request"] = "s1";
  send(client_, MessageType::kBrokerStatusRequest, request);
  auto status = next(client_, MessageType::kBrokerStatus, 10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->body.find("counters")->get_int("runs_accepted"), 1);
  EXPECT_EQ(status->body.find("counters")->get_int("runs_submitted_again"), 1);
}

// A run the broker does not hold is looked up in the store: a store that cannot be read is
// reported as such, not taken for a run that does not exist (404). (The status read that answers
// watch_run, and cancel_run's own read in RunCoordinator::cancel.)
TEST_F(BrokerShellTest, ARunTheStoreCannotReadIsAnErrorOfTheStoreNotAnUnknownRun) {
  store_.fail_reads = true;
  for (MessageType type : {MessageType::kWatchRun, MessageType::kCancelRun}) {
    Value request;
    request["request"] = "q1";
    request["run"] = "run-elsewhere";
    send(client_, type, request);
    auto reply = next(client_, MessageType::kClientError, 10s);
    ASSERT_TRUE(reply.has_value()) << protocol::message_type_name(type);
    EXPECT_EQ(reply->body.get_int("code"), static_cast<int64_t>(ErrorCode::kIo));
    EXPECT_EQ(reply->body.get_string("message"), "read broker.db: Input/output error");
  }
}

TEST_F(BrokerShellTest, WorkGoesOutBeforeTheTurnsCommit) {
  send(worker_, MessageType::kWorkerHello,
       protocol::to_body(protocol::WorkerHello{"w1", 4242, "", 1, Value::array()}));
  ASSERT_TRUE(next(worker_, MessageType::kWelcome, 10s).has_value());
  store_.hold_commits = true;
  submit_one();
  // The turn that accepted the run is stuck in its commit, and its item is with the worker.
  ASSERT_TRUE(test::wait_until([&] { return store_.commit_gate.syncs_started() >= 1; }, 10s));
  EXPECT_TRUE(next(worker_, MessageType::kWorkItem, 10s).has_value())
      << "work waited for the commit";
  store_.commit_gate.open();
}

// Commits may cover several turns (while work keeps coming), but an acknowledgement still goes
// out only after the commit that holds its result: never while that commit is still to be made.
TEST_F(BrokerShellTest, AResultIsAcknowledgedOnlyAfterTheCommitThatHoldsIt) {
  store_.gate.open();  // syncs succeed at once: only the commit can hold the ack back
  send(worker_, MessageType::kWorkerHello,
       protocol::to_body(protocol::WorkerHello{"w1", 4242, "", 1, Value::array()}));
  submit_one();
  auto item = next(worker_, MessageType::kWorkItem, 10s);
  ASSERT_TRUE(item.has_value());
  ASSERT_TRUE(next(client_, MessageType::kRunAccepted, 10s).has_value());
  auto work = protocol::work_item_from(item->body);
  ASSERT_TRUE(work.ok());

  store_.hold_commits = true;
  Value result;
  result["success"] = true;
  result["data"] = 1;
  send(worker_, MessageType::kWorkResult,
       protocol::to_body(protocol::WorkResult{work->item_id, work->attempt, result}));
  ASSERT_TRUE(test::wait_until([&] { return store_.commit_gate.syncs_started() >= 1; }, 10s));
  EXPECT_FALSE(next(worker_, MessageType::kResultAck, 100ms).has_value())
      << "acknowledged before its commit";
  store_.commit_gate.open();
  EXPECT_TRUE(next(worker_, MessageType::kResultAck, 10s).has_value());
}

// A loop of quick items, one at a time: while an item is out on a worker and no client waits,
// the turns share a commit for up to 5 ms instead of committing each result on its own. The
// bound scales with the time taken, so a slow machine cannot break it; committing every result
// at once (one commit per item) can.
TEST_F(BrokerShellTest, ResultsOfItemsRunOneAtATimeShareCommits) {
  store_.gate.open();
  send(worker_, MessageType::kWorkerHello,
       protocol::to_body(protocol::WorkerHello{"w1", 4242, "", 1, Value::array()}));
  ASSERT_TRUE(next(worker_, MessageType::kWelcome, 10s).has_value());
  constexpr int kItems = 200;
  std::string items;
  for (int i = 0; i < kItems; ++i) items += (i ? ", " : "") + std::to_string(i);
  protocol::SubmitRun submit;
  submit.request = "r1";
  submit.pipeline_path = "/tmp/loop.yaml";
  submit.pipeline_yaml =
      "workflow:\n  name: loop\n  steps:\n    - name: each\n      type: for_loop\n"
      "      iterator: n\n      items: [" + items + "]\n      steps:\n"
      "        - {name: e, type: echo, value: \"{{loop.n}}\"}\n";
  submit.inputs = Value::object();
  const uint64_t commits_before = store_.commits();
  const auto start = std::chrono::steady_clock::now();
  send(client_, MessageType::kSubmitRun, protocol::to_body(submit));
  // The worker answers each item as soon as it arrives (a blocking poll, not next()'s polling
  // interval, which would pace the loop at the commit interval itself).
  std::vector<net::PollEntry> entries{{worker_.raw(), -1, false}};
  for (int i = 0; i < kItems;) {
    ASSERT_TRUE(net::poll(entries, 10'000).ok());
    ASSERT_TRUE(entries[0].readable) << "no item " << i << " within 10 s";
    auto frames = worker_.receive();
    ASSERT_TRUE(frames.ok() && frames->has_value());
    for (const auto& frame : **frames) {  // items, and heartbeats or acknowledgements beside them
      auto message = protocol::decode(frame);
      ASSERT_TRUE(message.ok());
      if (message->type != MessageType::kWorkItem) continue;
      auto work = protocol::work_item_from(message->body);
      ASSERT_TRUE(work.ok());
      Value result;
      result["success"] = true;
      result["data"] = ++i;
      send(worker_, MessageType::kWorkResult,
           protocol::to_body(protocol::WorkResult{work->item_id, work->attempt, result}));
    }
  }
  // The run is over once the last result is in; a status reply says it, after its commit.
  ASSERT_TRUE(test::wait_until(
      [&] {
        Value request;
        request["request"] = "s1";
        send(client_, MessageType::kBrokerStatusRequest, request);
        auto status = next(client_, MessageType::kBrokerStatus, 1s);
        return status && status->body.get_int("runs_running", 1) == 0;
      },
      10s));
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  const uint64_t commits = store_.commits() - commits_before;
  // One per 5 ms while items are out, one per heartbeat tick, and the acceptance's.
  const auto bound = static_cast<uint64_t>(elapsed_ms / 5 + elapsed_ms / 1000 + 4);
  EXPECT_LE(commits, bound) << commits << " commits for " << kItems << " items in " << elapsed_ms
                            << " ms";
}

TEST_F(BrokerShellTest, ATurnsItemsForOneWorkerGoOutAsOneMessageOfEnvelopes) {
  send(worker_, MessageType::kWorkerHello,
       protocol::to_body(protocol::WorkerHello{"w1", 4242, "", 8, Value::array()}));
  ASSERT_TRUE(next(worker_, MessageType::kWelcome, 10s).has_value());
  protocol::SubmitRun submit;
  submit.request = "r1";
  submit.pipeline_path = "/tmp/four.yaml";
  submit.pipeline_yaml =
      "workflow:\n  name: four\n  steps:\n    - name: each\n      type: for_loop\n"
      "      iterator: n\n      items: [1, 2, 3, 4]\n      parallel: true\n      steps:\n"
      "        - {name: e, type: echo, value: \"{{loop.n}}\"}\n";
  submit.inputs = Value::object();
  send(client_, MessageType::kSubmitRun, protocol::to_body(submit));

  // The run is accepted and its four items dispatched in one turn: one message, four envelopes.
  std::vector<protocol::Message> message;
  ASSERT_TRUE(test::wait_until(
      [&] {
        message = next_message(worker_, 100ms);
        return std::any_of(message.begin(), message.end(),
                           [](const auto& m) { return m.type == MessageType::kWorkItem; });
      },
      10s));
  std::set<std::string> ids;
  for (const auto& m : message) {
    if (m.type != MessageType::kWorkItem) continue;
    auto item = protocol::work_item_from(m.body);
    ASSERT_TRUE(item.ok()) << item.error().message;
    ids.insert(item->item_id);
  }
  EXPECT_EQ(ids.size(), 4u);
}

TEST_F(BrokerShellTest, EachEnvelopeOfAWorkersMessageIsReadAndABadOneSpoilsNoOther) {
  // Garbage first, then a hello, in one message: the garbage is counted, the hello answered.
  ASSERT_TRUE(worker_
                  .send({std::string("\x93\x07\x64\x80", 4),
                         protocol::encode(MessageType::kWorkerHello,
                                          protocol::to_body(protocol::WorkerHello{
                                              "w1", 4242, "", 1, Value::array()})),
                         protocol::encode(MessageType::kWorkerHeartbeat,
                                          protocol::to_body(protocol::Heartbeat{1}))})
                  .ok());
  ASSERT_TRUE(next(worker_, MessageType::kWelcome, 10s).has_value());
  // An empty envelope is counted too.
  ASSERT_TRUE(worker_.send({""}).ok());

  store_.gate.open();
  EXPECT_EQ(wait_for_bad_worker_frames(2), 2);
}

TEST_F(BrokerShellTest, AWorkResultThatDoesNotDecodeIsABadFrameOnlyWhenItsEnvelopeIsBad) {
  send(worker_, MessageType::kWorkerHello,
       protocol::to_body(protocol::WorkerHello{"w1", 4242, "", 1, Value::array()}));
  ASSERT_TRUE(next(worker_, MessageType::kWelcome, 10s).has_value());
  // A whole envelope whose body is no work result is the dispatcher's to log, as before the
  // direct decoder; a cut-short one is a bad frame. Both in one message, the bad frame last.
  Value no_result;
  no_result["id"] = "x";
  no_result["attempt"] = 1;
  std::string cut = protocol::encode_work_result("x", 1, Value::object());
  cut.pop_back();
  ASSERT_TRUE(worker_.send({protocol::encode(MessageType::kWorkResult, no_result), cut}).ok());

  store_.gate.open();
  EXPECT_EQ(wait_for_bad_worker_frames(1), 1);
}

TEST_F(BrokerShellTest, TheExtraClientSocketIsServedAndRepliesGoBackOnIt) {
  store_.gate.open();
  Value request;
  request["request"] = "on-extra";
  send(extra_client_, MessageType::kBrokerStatusRequest, request);
  auto status = next(extra_client_, MessageType::kBrokerStatus, 10s);
  ASSERT_TRUE(status.has_value()) << "no answer on the extra client socket";
  EXPECT_EQ(status->body.get_string("request"), "on-extra");
  EXPECT_FALSE(next(client_, MessageType::kBrokerStatus, 50ms).has_value());
}

TEST_F(BrokerShellTest, AFrameOfAnotherVersionOrTypeIsAnsweredWithItsRequestId) {
  store_.gate.open();
  Value body;
  body["request"] = "r-v2";
  ASSERT_TRUE(client_.send({"\x93\x02\xcc\xcc" + protocol::encode_value(body)}).ok());
  auto error = next(client_, MessageType::kClientError, 10s);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->body.get_string("request"), "r-v2");
  EXPECT_EQ(error->body.get_int("code"), static_cast<int64_t>(ErrorCode::kInvalidInput));
  EXPECT_EQ(error->body.get_string("message"), "protocol version 2, expected 1");

  body["request"] = "r-999";
  ASSERT_TRUE(
      client_.send({std::string("\x93\x01\xcd\x03\xe7", 5) + protocol::encode_value(body)})
          .ok());
  error = next(client_, MessageType::kClientError, 10s);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->body.get_string("request"), "r-999");
  EXPECT_EQ(error->body.get_string("message"), "unknown message type 999");
}

TEST_F(BrokerShellTest, TwoRequestsInOneMessageAreRefusedAndTheFirstsIdIsAnswered) {
  store_.gate.open();
  Value body;
  body["request"] = "r-1";
  const std::string first = protocol::encode(MessageType::kBrokerStatusRequest, body);
  body["request"] = "r-2";
  ASSERT_TRUE(
      client_.send({first, protocol::encode(MessageType::kBrokerStatusRequest, body)}).ok());
  auto error = next(client_, MessageType::kClientError, 10s);
  ASSERT_TRUE(error.has_value()) << "no answer: the client would wait out its deadline";
  EXPECT_EQ(error->body.get_string("request"), "r-1");
  EXPECT_EQ(error->body.get_string("message"), "one request per message; this one has 2 frames");
}

TEST_F(BrokerShellTest, AFailedSyncStopsTheBrokerWithoutReplying) {
  submit_one();
  ASSERT_TRUE(test::wait_until([&] { return store_.gate.syncs_started() >= 1; }, 10s));
  store_.gate.fail();
  ASSERT_EQ(exit_code_.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(exit_code_.get(), 70);
  EXPECT_FALSE(next(client_, MessageType::kRunAccepted, 50ms).has_value());
}

}  // namespace
}  // namespace pl::broker
