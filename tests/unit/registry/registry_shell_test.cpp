// The registry's loop with a store whose commits need a sync: replies wait for their batch's sync.
#include "registry/registry_shell.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <future>
#include <set>

#include "common/json.h"
#include "common/protocol/envelope.h"
#include "common/registry/registry_client.h"
#include "tests/support/fake_signal_fd.h"
#include "tests/support/harness.h"
#include "tests/support/sync_gate.h"
#include "tests/unit/registry/memory_store.h"

namespace pl::registry {
namespace {

using namespace std::chrono_literals;

// A store whose sync() waits at a gate the test opens, and can be made to fail; its commits
// can be made to fail too (a full disk).
class GatedStore final : public test::MemoryStore {
 public:
  bool commit_is_durable() const override { return false; }
  Status sync() override { return gate.wait(); }
  Status commit() override {
    if (!fail_commits) return test::MemoryStore::commit();
    rollback();
    return make_error(ErrorCode::kIo, "COMMIT: database or disk is full");
  }

  pl::test::SyncGate gate{"fdatasync: Input/output error"};
  std::atomic<bool> fail_commits{false};
};

class RegistryShellTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(signals_.ok());
    ASSERT_TRUE(router_.bind("inproc://registry-shell-test").ok());
    ASSERT_TRUE(client_.connect("inproc://registry-shell-test").ok());
    shell_ = std::make_unique<RegistryShell>(router_, store_, core_, clock_, signals_.read_fd(), ShellOptions{});
    exit_code_ = std::async(std::launch::async, [this] { return shell_->run(); });
  }
  void TearDown() override {
    store_.gate.open();
    if (exit_code_.valid()) stop();
  }

  void stop() {
    ASSERT_TRUE(signals_.deliver(SIGTERM));
    ASSERT_EQ(exit_code_.wait_for(30s), std::future_status::ready);
  }

  void send(const std::string& op, const std::string& id, std::string_view args) {
    protocol::RegistryRequest r{"q-" + id, op, id, *parse_json(args)};
    ASSERT_TRUE(client_.send({protocol::encode(protocol::MessageType::kRegistryRequest, protocol::to_body(r))}).ok());
  }

  // The next reply, waiting up to `timeout`.
  std::optional<protocol::RegistryReply> reply(std::chrono::milliseconds timeout) {
    std::optional<protocol::RegistryReply> got;
    pl::test::wait_until(
        [&] {
          auto frames = client_.receive();
          if (!frames.ok() || !frames->has_value()) return false;
          auto m = protocol::decode((*frames)->front());
          if (m.ok()) got = *protocol::registry_reply_from(m->body);
          return true;
        },
        timeout);
    return got;
  }

  GatedStore store_;
  RegistryCore core_{store_, RegistryLimits{}};
  RealClock clock_;
  net::Context context_;
  net::Socket router_{context_, net::SocketKind::kRouter};
  net::Socket client_{context_, net::SocketKind::kDealer};
  pl::test::FakeSignalFd signals_;
  std::unique_ptr<RegistryShell> shell_;
  std::future<int> exit_code_;
};

TEST_F(RegistryShellTest, AMutationIsAcknowledgedOnlyAfterTheSyncThatCoversIt) {
  send("session.create", "c1", R"({"name": "chat"})");
  ASSERT_TRUE(pl::test::wait_until([&] { return store_.gate.syncs_started() >= 1; }, 10s));
  EXPECT_FALSE(reply(50ms).has_value()) << "acknowledged before it was durable";
  store_.gate.open();
  auto r = reply(10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok) << r->message;
  EXPECT_EQ(r->request, "q-c1");
}

TEST_F(RegistryShellTest, ReadsAreAnsweredAtOnceWhenNothingWaitsForASync) {
  send("ping", "", "{}");
  auto r = reply(10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->result, Value("pong"));
  EXPECT_EQ(store_.gate.syncs_started(), 0);
}

TEST_F(RegistryShellTest, ReadsQueuedBehindAnUnsyncedMutationWaitForIt) {
  send("session.create", "c1", R"({"name": "chat"})");
  ASSERT_TRUE(pl::test::wait_until([&] { return store_.gate.syncs_started() >= 1; }, 10s));
  send("session.get", "", R"({"name": "chat"})");
  EXPECT_FALSE(reply(50ms).has_value());
  store_.gate.open();
  auto first = reply(10s);
  auto second = reply(10s);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->request, "q-c1");
  EXPECT_TRUE(second->ok) << second->message;
}

// The registry stays up when a commit fails (a full disk), and says why to every request of the
// batch, so that a client retries knowing the reason instead of waiting for a reply that never
// comes.
TEST_F(RegistryShellTest, EveryRequestOfABatchThatWasNotStoredIsAnsweredWithTheReason) {
  store_.gate.open();
  store_.fail_commits = true;
  send("session.create", "c1", R"({"name": "a"})");
  send("session.create", "c2", R"({"name": "b"})");
  std::set<std::string> answered;
  for (int i = 0; i < 2; ++i) {
    auto r = reply(10s);
    ASSERT_TRUE(r.has_value()) << "request " << i << " was not answered";
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->code, ErrorCode::kUnavailable);
    EXPECT_EQ(r->message,
              "the registry could not store the change: COMMIT: database or disk is full");
    answered.insert(r->request);
  }
  EXPECT_EQ(answered, (std::set<std::string>{"q-c1", "q-c2"}));

  // A client retries, then says the registry refused, and why: not that it did not answer.
  RegistryClientOptions options;
  options.endpoint = "inproc://registry-shell-test";
  options.context = &context_;
  options.max_attempts = 3;
  RegistryClient client(options);
  auto created = client.create_session("c");
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, ErrorCode::kRetryLater);  // there, and refusing for now
  EXPECT_EQ(created.error().message.rfind("the registry at inproc://registry-shell-test refused 3 "
                                          "attempt(s) in ", 0),
            0u)
      << created.error().message;
  EXPECT_NE(created.error().message.find(
                " ms: the registry could not store the change: COMMIT: database or disk is full"),
            std::string::npos)
      << created.error().message;

  store_.fail_commits = false;  // room again: the same request is stored
  send("session.create", "c1", R"({"name": "a"})");
  auto r = reply(10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok) << r->message;
}

TEST_F(RegistryShellTest, AFailedSyncStopsTheLoopWithoutAcknowledging) {
  send("session.create", "c1", R"({"name": "chat"})");
  ASSERT_TRUE(pl::test::wait_until([&] { return store_.gate.syncs_started() >= 1; }, 10s));
  store_.gate.fail();
  ASSERT_EQ(exit_code_.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(exit_code_.get(), 75);
  EXPECT_FALSE(reply(50ms).has_value());
}

TEST_F(RegistryShellTest, AFrameThatDoesNotDecodeButCarriesAnIdIsAnsweredWithThatId) {
  protocol::RegistryRequest r{"q-v2", "ping", "", Value::object()};
  std::string frame = protocol::encode(protocol::MessageType::kRegistryRequest, protocol::to_body(r));
  ASSERT_EQ(frame.substr(0, 2), std::string("\x93\x01"));
  frame[1] = '\x02';  // a peer of protocol version 2
  ASSERT_TRUE(client_.send({frame}).ok());
  auto got = reply(10s);
  ASSERT_TRUE(got.has_value()) << "no answer: the client would wait out its deadline";
  EXPECT_EQ(got->request, "q-v2");
  EXPECT_FALSE(got->ok);
  EXPECT_EQ(got->code, ErrorCode::kInvalidInput);
  EXPECT_EQ(got->message, "protocol version 2, expected 1");
  EXPECT_EQ(core_.counters().bad_frames, 1u);
}

TEST_F(RegistryShellTest, TwoRequestsInOneMessageAreRefusedAndTheFirstsIdIsAnswered) {
  const auto frame = [](const std::string& id) {
    return protocol::encode(
        protocol::MessageType::kRegistryRequest,
        protocol::to_body(protocol::RegistryRequest{id, "ping", "", Value::object()}));
  };
  ASSERT_TRUE(client_.send({frame("q-1"), frame("q-2")}).ok());
  auto got = reply(10s);
  ASSERT_TRUE(got.has_value()) << "no answer: the client would wait out its deadline";
  EXPECT_EQ(got->request, "q-1");
  EXPECT_EQ(got->code, ErrorCode::kInvalidInput);
  EXPECT_EQ(got->message, "one request per message; this one has 2 frames");
  EXPECT_EQ(core_.counters().bad_frames, 1u);
}

TEST_F(RegistryShellTest, AnotherMessageTypeWithAnIdIsAnsweredAndOneWithoutIsOnlyCounted) {
  ASSERT_TRUE(client_.send({protocol::encode(protocol::MessageType::kWorkerHello, Value::object())}).ok());
  Value body;
  body["request"] = "h1";
  ASSERT_TRUE(client_.send({protocol::encode(protocol::MessageType::kWorkerHello, body)}).ok());
  auto got = reply(10s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->request, "h1");
  EXPECT_EQ(got->code, ErrorCode::kInvalidInput);
  EXPECT_NE(got->message.find("is not a registry request"), std::string::npos) << got->message;
  send("ping", "", "{}");
  auto pong = reply(10s);
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->result, Value("pong")) << "the id-less frame got an answer of its own";
  EXPECT_EQ(core_.counters().bad_frames, 2u);
}

}  // namespace
}  // namespace pl::registry
