// The worker's loop against a stand-in broker ROUTER on an inproc socket: messages of several
// envelopes both ways.
#include "worker/worker_shell.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <set>

#include "common/protocol/envelope.h"
#include "common/protocol/work.h"
#include "tests/support/fake_signal_fd.h"
#include "tests/support/harness.h"
#include "tests/support/log_capture.h"
#include "worker/executors/echo_executor.h"

namespace pl::worker {
namespace {

using namespace std::chrono_literals;
using protocol::MessageType;

class WorkerShellTest : public ::testing::Test {
 protected:
  // The worker's heartbeat; it reconnects after 3 of them without a word from the broker.
  explicit WorkerShellTest(Duration heartbeat = 1s)
      : core_(WorkerIdentity{"workers.1", 4242, "", 4}, heartbeat, 3) {}

  void SetUp() override {
    ASSERT_TRUE(signals_.ok());
    ASSERT_TRUE(broker_.bind("inproc://worker-shell-broker").ok());
    executors_.add("echo", std::make_unique<EchoExecutor>());
    shell_ = std::make_unique<WorkerShell>(context_, shell_endpoint_, core_, pool_, clock_,
                                           signals_.read_fd(), link_);
    exit_code_ = std::async(std::launch::async, [this] { return shell_->run(); });
  }
  void TearDown() override {
    ASSERT_TRUE(signals_.deliver(SIGTERM));
    ASSERT_EQ(exit_code_.wait_for(30s), std::future_status::ready);
    EXPECT_EQ(exit_code_.get(), 0);
  }

  // The next message from the worker within 10 s: its identity and its envelopes, decoded.
  std::pair<std::string, std::vector<protocol::Message>> next_message() {
    std::pair<std::string, std::vector<protocol::Message>> got;
    const bool arrived = test::wait_until(
        [&] {
          auto frames = broker_.receive();
          if (!frames.ok() || !frames->has_value()) return false;
          got.first = (*frames)->front();
          for (size_t i = 1; i < (*frames)->size(); ++i) {
            auto m = protocol::decode((**frames)[i]);
            EXPECT_TRUE(m.ok()) << m.error().message;
            if (m.ok()) got.second.push_back(std::move(*m));
          }
          return true;
        },
        10s);
    EXPECT_TRUE(arrived) << "no message from the worker";
    return got;
  }

  static std::string work_item(const std::string& id, const std::string& text) {
    Value input;
    input["value"] = text;
    return protocol::encode(MessageType::kWorkItem,
                            protocol::to_body(protocol::WorkItem{id, 1, 5000, "run-1", "s", "echo",
                                                                 input, nullptr, std::nullopt}));
  }

  std::string shell_endpoint_ = "inproc://worker-shell-broker";  // where the worker connects
  BrokerLink link_;
  net::Context context_;
  net::Socket broker_{context_, net::SocketKind::kRouter};
  RealClock clock_;
  ExecutorTable executors_;
  SlotPool pool_{4, executors_, clock_};
  WorkerCore core_;
  test::FakeSignalFd signals_;
  std::unique_ptr<WorkerShell> shell_;
  std::future<int> exit_code_;
};

TEST_F(WorkerShellTest, EveryEnvelopeOfAMessageIsReadAndTheResultsGoBackAsOneMessage) {
  auto [identity, hello] = next_message();
  ASSERT_EQ(hello.size(), 1u);
  EXPECT_EQ(hello[0].type, MessageType::kWorkerHello);

  // A welcome, two items and a frame of garbage between them, as one message.
  protocol::Welcome welcome{"broker-1", 1000, 3};
  ASSERT_TRUE(
      broker_
          .send({identity, protocol::encode(MessageType::kWelcome, protocol::to_body(welcome)),
                 work_item("a", "first"), std::string("\x93\x07\x64\x80", 4),
                 work_item("b", "second")})
          .ok());

  // Both items ran (the garbage spoiled neither), and both results came back in one message.
  // Heartbeats, should the machine stall past an interval, travel in messages of their own.
  std::vector<protocol::Message> results;
  for (int i = 0; i < 10 && results.empty(); ++i) {
    auto [same_identity, envelopes] = next_message();
    EXPECT_EQ(same_identity, identity);
    for (auto& m : envelopes) {
      if (m.type != MessageType::kWorkerHeartbeat) results.push_back(std::move(m));
    }
  }
  std::set<std::string> texts;
  for (const auto& m : results) {
    ASSERT_EQ(m.type, MessageType::kWorkResult);
    auto result = protocol::work_result_from(m.body);
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_TRUE(result->result.get_bool("success"));
    texts.insert(result->result.get_string("text"));
  }
  EXPECT_EQ(texts, (std::set<std::string>{"first", "second"}));
}

// A broker that never answers: the worker reconnects every 3 heartbeats (30 ms here).
class SilentBrokerTest : public WorkerShellTest {
 protected:
  SilentBrokerTest() : WorkerShellTest(10ms) {}
  test::LogCapture log_;  // before the shell starts (SetUp), until it has stopped (TearDown)
};

TEST_F(SilentBrokerTest, ReconnectsToABrokerThatSaysNothingAreAWarningOnceNotOneEach) {
  // Each reconnect says hello on a new connection: the 1st, then 5 more.
  std::set<std::string> connections;
  std::string last;
  const auto connections_reach = [&](size_t n) {
    while (connections.size() < n) {
      auto [identity, envelopes] = next_message();
      if (identity.empty()) return false;
      if (connections.insert(identity).second) last = identity;
    }
    return true;
  };
  const auto warnings = [&] {
    size_t n = 0;
    for (const auto& line : log_.lines()) {
      n += line.find("[warning]") != std::string::npos &&
           line.find("reconnecting") != std::string::npos;
    }
    return n;
  };
  ASSERT_TRUE(connections_reach(6));
  EXPECT_EQ(warnings(), 1u) << "one warning for the first reconnect; the next in a minute";
  // A broker answers, then falls silent: its loss is news again. (A welcome that reaches a
  // connection the worker has just left is lost, and that reconnect stays quiet: sent again.)
  const std::string welcome = protocol::encode(
      MessageType::kWelcome, protocol::to_body(protocol::Welcome{"broker-1", 10, 3}));
  for (int tries = 0; tries < 20 && warnings() < 2; ++tries) {
    ASSERT_TRUE(broker_.send({last, welcome}).ok());
    ASSERT_TRUE(connections_reach(connections.size() + 1));
  }
  EXPECT_EQ(warnings(), 2u);
}

// Nothing listens where the worker connects: every message it sends would block (a refused
// remote worker's case too, whose handshake never completes).
class NoBrokerTest : public WorkerShellTest {
 protected:
  NoBrokerTest() : WorkerShellTest(10ms) {
    shell_endpoint_ = "ipc://" + (dir_.path() / "nobody.sock").string();
    link_.send_hwm = 1;  // the hello waits for a connection; the heartbeats after it cannot
    spdlog::default_logger()->set_level(spdlog::level::debug);  // the quiet repeats counted too
  }
  test::TempDir dir_;
  test::LogCapture log_;
};

TEST_F(NoBrokerTest, SendsThatWouldBlockAreAWarningOnceNotOneEach) {
  // Hellos and heartbeats, each dropped: the first is a warning, the next are debug lines.
  ASSERT_TRUE(test::wait_until([&] { return log_.count("would block") >= 4; }, 10s));
  size_t warnings = 0;
  for (const auto& line : log_.lines()) {
    warnings += line.find("[warning]") != std::string::npos &&
                line.find("would block") != std::string::npos;
  }
  EXPECT_EQ(warnings, 1u);
}

}  // namespace
}  // namespace pl::worker
