// The control socket's handling of frames that are not a control request it can decode, over a
// real ROUTER on inproc://.
#include "supervisor/control_server.h"

#include <gtest/gtest.h>

#include "common/protocol/envelope.h"
#include "tests/support/harness.h"

namespace pl::supervisor {
namespace {

using namespace std::chrono_literals;

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net::Socket router(context_, net::SocketKind::kRouter);
    ASSERT_TRUE(router.bind("inproc://control-server-test").ok());
    server_ = std::make_unique<ControlServer>(std::move(router));
    ASSERT_TRUE(client_.connect("inproc://control-server-test").ok());
  }

  // Sends `frame` and serves the socket until the client gets a reply; nullopt if none comes
  // within 10 s.
  std::optional<protocol::ControlReply> answer_to(const std::string& frame) {
    EXPECT_TRUE(client_.send({frame}).ok());
    std::optional<protocol::ControlReply> reply;
    test::wait_until(
        [&] {
          (void)server_->receive();
          auto frames = client_.receive();
          if (!frames.ok() || !frames->has_value()) return false;
          auto message = protocol::decode((*frames)->front());
          EXPECT_TRUE(message.ok());
          if (!message.ok()) return true;
          auto parsed = protocol::control_reply_from(message->body);
          if (parsed.ok()) reply = *parsed;
          return true;
        },
        10s);
    return reply;
  }

  static std::string with_header(const std::string& header, const std::string& id) {
    Value body;
    body["request"] = id;
    body["command"] = "status";
    body["args"] = Value::object();
    return "\x93" + header + protocol::encode_value(body);
  }

  net::Context context_;
  std::unique_ptr<ControlServer> server_;
  net::Socket client_{context_, net::SocketKind::kDealer};
};

TEST_F(ControlServerTest, AnotherProtocolVersionIsAnsweredWith400EchoingTheRequestId) {
  auto reply = answer_to(with_header("\x02\xcc\xcc", "c-v2"));
  ASSERT_TRUE(reply.has_value()) << "no answer";
  EXPECT_EQ(reply->request, "c-v2");
  EXPECT_FALSE(reply->ok);
  EXPECT_EQ(reply->code, ErrorCode::kInvalidInput);
  EXPECT_EQ(reply->message, "protocol version 2, expected 1");
  EXPECT_EQ(server_->bad_frames(), 1u);
}

TEST_F(ControlServerTest, AnUnknownMessageTypeIsAnsweredWith400EchoingTheRequestId) {
  auto reply = answer_to(with_header(std::string("\x01\xcd\x03\xe7", 4), "c-999"));
  ASSERT_TRUE(reply.has_value()) << "no answer";
  EXPECT_EQ(reply->request, "c-999");
  EXPECT_EQ(reply->code, ErrorCode::kInvalidInput);
  EXPECT_EQ(reply->message, "unknown message type 999");
}

TEST_F(ControlServerTest, AFrameWithoutAReadableIdIsDroppedAndTheNextRequestServed) {
  ASSERT_TRUE(client_.send({std::string("\x93\x02\xcc\xcc\x80", 5)}).ok());
  protocol::ControlRequest request;
  request.request = "after";
  request.command = "status";
  const std::string good =
      protocol::encode(protocol::MessageType::kControlRequest, protocol::to_body(request));
  ASSERT_TRUE(client_.send({good}).ok());
  std::vector<ControlCall> calls;
  ASSERT_TRUE(test::wait_until(
      [&] {
        for (auto& call : server_->receive()) calls.push_back(std::move(call));
        return !calls.empty();
      },
      10s));
  EXPECT_EQ(calls.front().request.request, "after");
  EXPECT_EQ(server_->bad_frames(), 1u);
  auto stray = client_.receive();
  ASSERT_TRUE(stray.ok());
  EXPECT_FALSE(stray->has_value()) << "the frame without an id was answered";
}

}  // namespace
}  // namespace pl::supervisor
