// The ZAP handler with real ZeroMQ sockets over tcp://127.0.0.1 on a port the system picks: who
// gets in, who does not, and that the allow-list follows its file.
#include "common/net/zap_handler.h"

#include <gtest/gtest.h>
#include <zmq.h>

#include <functional>

#include "common/fs.h"
#include "tests/support/harness.h"

namespace pl::net {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kDomain = "pipeline.test";

// A CURVE ROUTER on 127.0.0.1 with its ZAP handler, pumped by the test.
class CurveServer {
 public:
  CurveServer(const fs::path& allow_list, bool with_handler = true) {
    pair_ = *generate_curve_keypair();
    CurveServerSetup setup{pair_, "", allow_list};
    SocketOptions options;
    if (with_handler) {
      auto started = ZapHandler::start(context_, setup, clock_);
      EXPECT_TRUE(started.ok()) << started.error().message;
      zap_ = std::move(*started);
      options.curve_server = zap_->server_keys(kDomain);
    } else {
      options.curve_server = CurveServerKeys{pair_.secret_key.raw(), kDomain};
    }
    socket_ = std::make_unique<Socket>(context_, SocketKind::kRouter, options);
    EXPECT_TRUE(socket_->bind("tcp://127.0.0.1:*").ok());
    if (zap_) {
      EXPECT_TRUE(zap_->watch(*socket_, "test socket").ok());
    }
    endpoint_ = socket_->last_endpoint();
  }

  // Polls the server (and its handler) until `done` holds or 20 s pass.
  bool pump_until(const std::function<bool()>& done) {
    const auto deadline = SteadyClock::now() + 20s;
    while (SteadyClock::now() < deadline) {
      if (done()) return true;
      std::vector<PollEntry> entries{{socket_->raw(), -1, false}};
      if (zap_) zap_->add_poll_entries(entries);
      if (!poll(entries, 20).ok()) return false;
      if (zap_) zap_->on_poll(entries, 1);
      for (;;) {
        auto frames = socket_->receive();
        if (!frames.ok() || !frames->has_value()) break;
        received_.push_back((**frames).back());
      }
    }
    return done();
  }

  const std::string& endpoint() const { return endpoint_; }
  const CurveKey& public_key() const { return pair_.public_key; }
  ZapHandler& zap() { return *zap_; }
  const std::vector<std::string>& received() const { return received_; }

 private:
  RealClock clock_;
  Context context_;
  CurveKeyPair pair_;
  std::unique_ptr<ZapHandler> zap_;
  std::unique_ptr<Socket> socket_;
  std::string endpoint_;
  std::vector<std::string> received_;
};

// A CURVE DEALER with a handshake monitor; sends "hello" at once.
class CurveClient {
 public:
  CurveClient(const std::string& endpoint, const CurveKey& server_key, const CurveKeyPair& pair) {
    SocketOptions options;
    options.curve_client =
        CurveClientKeys{server_key.raw(), pair.public_key.raw(), pair.secret_key.raw()};
    socket_ = std::make_unique<Socket>(context_, SocketKind::kDealer, options);
    monitor_ = std::make_unique<HandshakeMonitor>(context_, *socket_);
    EXPECT_TRUE(monitor_->status().ok());
    EXPECT_TRUE(socket_->connect(endpoint).ok());
    EXPECT_TRUE(socket_->send({"hello"}).ok());
  }
  ~CurveClient() {
    socket_.reset();
    monitor_.reset();
  }
  // Whether a handshake event of `kind` has been seen (reads what is waiting).
  bool saw(HandshakeEvent::Kind kind, uint32_t value = 0) {
    for (auto& e : monitor_->drain()) events_.push_back(e);
    for (const auto& e : events_) {
      if (e.kind == kind && (value == 0 || e.value == value)) return true;
    }
    return false;
  }

 private:
  Context context_;
  std::unique_ptr<Socket> socket_;
  std::unique_ptr<HandshakeMonitor> monitor_;
  std::vector<HandshakeEvent> events_;
};

class ZapHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    allowed_ = *generate_curve_keypair();
    stranger_ = *generate_curve_keypair();
    allow(allowed_.public_key.z85() + "  # allowed-client\n");
  }
  void allow(const std::string& text) {
    ASSERT_TRUE(write_file_atomic(dir_.path() / "allowed", text).ok());
  }
  fs::path list() const { return dir_.path() / "allowed"; }

  test::TempDir dir_;
  CurveKeyPair allowed_;
  CurveKeyPair stranger_;
};

TEST_F(ZapHandlerTest, AnAllowedClientIsServed) {
  CurveServer server(list());
  CurveClient client(server.endpoint(), server.public_key(), allowed_);
  ASSERT_TRUE(server.pump_until([&] { return !server.received().empty(); }));
  EXPECT_EQ(server.received()[0], "hello");
  EXPECT_EQ(server.zap().counters().allowed, 1u);
  EXPECT_EQ(server.zap().counters().refused, 0u);
  EXPECT_TRUE(client.saw(HandshakeEvent::Kind::kSucceeded));
}

TEST_F(ZapHandlerTest, AClientWhoseKeyIsNotAllowedIsRefusedWithStatus400) {
  CurveServer server(list());
  CurveClient client(server.endpoint(), server.public_key(), stranger_);
  ASSERT_TRUE(
      server.pump_until([&] { return client.saw(HandshakeEvent::Kind::kFailedAuth, 400); }));
  EXPECT_GE(server.zap().counters().refused, 1u);
  EXPECT_EQ(server.zap().counters().allowed, 0u);
  EXPECT_TRUE(server.received().empty());
}

TEST_F(ZapHandlerTest, APlaintextClientNeverGetsAMessageThrough) {
  CurveServer server(list());
  // Straight through libzmq: our Socket refuses tcp:// without CURVE on its own.
  void* context = zmq_ctx_new();
  void* plain = zmq_socket(context, ZMQ_DEALER);
  const int zero = 0;
  zmq_setsockopt(plain, ZMQ_LINGER, &zero, sizeof zero);
  ASSERT_EQ(zmq_connect(plain, server.endpoint().c_str()), 0);
  zmq_send(plain, "hello", 5, ZMQ_DONTWAIT);
  ASSERT_TRUE(server.pump_until([&] { return server.zap().counters().handshake_failures >= 1; }));
  EXPECT_TRUE(server.received().empty());
  EXPECT_EQ(server.zap().counters().allowed, 0u);
  zmq_close(plain);
  zmq_ctx_term(context);
}

TEST_F(ZapHandlerTest, AClientWithTheWrongServerKeyFailsTheHandshake) {
  CurveServer server(list());
  const CurveKey wrong = generate_curve_keypair()->public_key;
  CurveClient client(server.endpoint(), wrong, allowed_);
  ASSERT_TRUE(server.pump_until([&] { return server.zap().counters().handshake_failures >= 1; }));
  EXPECT_TRUE(server.received().empty());
  EXPECT_EQ(server.zap().counters().allowed, 0u);
  EXPECT_FALSE(client.saw(HandshakeEvent::Kind::kSucceeded));
}

TEST_F(ZapHandlerTest, WithoutAHandlerEveryCurveClientIsRefused) {
  // DESIGN.md §11: CURVE with no ZAP handler would accept anyone who knows the server key;
  // ZMQ_ZAP_ENFORCE_DOMAIN makes it refuse instead.
  CurveServer server(list(), /*with_handler=*/false);
  CurveClient client(server.endpoint(), server.public_key(), allowed_);
  ASSERT_TRUE(server.pump_until([&] {
    return client.saw(HandshakeEvent::Kind::kFailedNoDetail) ||
           client.saw(HandshakeEvent::Kind::kFailedProtocol) ||
           client.saw(HandshakeEvent::Kind::kFailedAuth);
  }));
  EXPECT_TRUE(server.received().empty());
}

TEST_F(ZapHandlerTest, AKeyAddedToTheFileIsAllowedWithoutARestart) {
  CurveServer server(list());
  {
    CurveClient refused(server.endpoint(), server.public_key(), stranger_);
    ASSERT_TRUE(server.pump_until([&] { return refused.saw(HandshakeEvent::Kind::kFailedAuth); }));
  }
  allow(allowed_.public_key.z85() + "\n" + stranger_.public_key.z85() + " # now allowed\n");
  CurveClient client(server.endpoint(), server.public_key(), stranger_);
  ASSERT_TRUE(server.pump_until([&] { return !server.received().empty(); }));
  EXPECT_EQ(server.zap().allowed_keys(), 2u);
  EXPECT_EQ(server.zap().counters().reloads, 1u);
}

TEST_F(ZapHandlerTest, AKeyRemovedFromTheFileIsRefusedFromTheNextConnection) {
  CurveServer server(list());
  {
    CurveClient first(server.endpoint(), server.public_key(), allowed_);
    ASSERT_TRUE(server.pump_until([&] { return !server.received().empty(); }));
  }
  allow("# everybody revoked\n");
  CurveClient again(server.endpoint(), server.public_key(), allowed_);
  ASSERT_TRUE(server.pump_until([&] { return again.saw(HandshakeEvent::Kind::kFailedAuth); }));
  EXPECT_EQ(server.zap().allowed_keys(), 0u);
}

TEST_F(ZapHandlerTest, ABrokenListOnReloadLeavesTheOneInForce) {
  CurveServer server(list());
  allow("garbage\n");
  EXPECT_FALSE(server.zap().reload().ok());
  EXPECT_EQ(server.zap().allowed_keys(), 1u);
  CurveClient client(server.endpoint(), server.public_key(), allowed_);
  ASSERT_TRUE(server.pump_until([&] { return !server.received().empty(); }));
}

TEST_F(ZapHandlerTest, StartingWithABrokenListFails) {
  allow("garbage\n");
  Context context;
  RealClock clock;
  auto started =
      ZapHandler::start(context, CurveServerSetup{*generate_curve_keypair(), "", list()}, clock);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("allowed:1:1:"), std::string::npos)
      << started.error().message;
}

TEST_F(ZapHandlerTest, ASecondHandlerInTheSameContextCannotStart) {
  Context context;
  RealClock clock;
  auto first =
      ZapHandler::start(context, CurveServerSetup{*generate_curve_keypair(), "", list()}, clock);
  ASSERT_TRUE(first.ok());
  auto second =
      ZapHandler::start(context, CurveServerSetup{*generate_curve_keypair(), "", list()}, clock);
  EXPECT_FALSE(second.ok());
}

// ZAP requests written by hand, straight to the handler's socket (as libzmq would send them).
class ZapRequests : public ZapHandlerTest {
 protected:
  void SetUp() override {
    ZapHandlerTest::SetUp();
    auto started = ZapHandler::start(context_, CurveServerSetup{server_, "", list()}, clock_);
    ASSERT_TRUE(started.ok()) << started.error().message;
    zap_ = std::move(*started);
    zap_->server_keys(kDomain);
    peer_ = std::make_unique<Socket>(context_, SocketKind::kDealer);
    ASSERT_TRUE(peer_->connect(kZapEndpoint).ok());
  }
  void TearDown() override {
    peer_.reset();
    zap_.reset();
  }
  // Sends one request (a DEALER speaks to a REP with an empty delimiter first) and returns the
  // reply's frames after the delimiter; empty when none comes.
  Frames ask(Frames request) {
    request.insert(request.begin(), "");
    EXPECT_TRUE(peer_->send(request).ok());
    const auto deadline = SteadyClock::now() + 20s;
    while (SteadyClock::now() < deadline) {
      std::vector<PollEntry> entries;
      zap_->add_poll_entries(entries);
      entries.push_back({peer_->raw(), -1, false});
      if (!poll(entries, 20).ok()) break;
      zap_->on_poll(entries, 0);
      auto reply = peer_->receive();
      if (reply.ok() && reply->has_value()) {
        Frames frames = std::move(**reply);
        frames.erase(frames.begin());
        return frames;
      }
    }
    return {};
  }
  Frames curve_request(const CurveKey& key) {
    return {"1.0", "7", kDomain, "10.0.0.9", "", "CURVE", key.raw()};
  }

  FakeClock clock_;
  Context context_;
  CurveKeyPair server_ = *generate_curve_keypair();
  std::unique_ptr<ZapHandler> zap_;
  std::unique_ptr<Socket> peer_;
};

TEST_F(ZapRequests, AnAllowedKeyGets200WithTheKeyAsUserId) {
  Frames reply = ask(curve_request(allowed_.public_key));
  ASSERT_EQ(reply.size(), 6u);
  EXPECT_EQ(reply[1], "7");
  EXPECT_EQ(reply[2], "200");
  EXPECT_EQ(reply[4], allowed_.public_key.z85());
}

TEST_F(ZapRequests, GarbageAndOtherMechanismsGet400AndTheHandlerGoesOn) {
  for (const Frames& request : std::vector<Frames>{
           {"garbage"},
           {"1.0", "8", kDomain, "10.0.0.9", "", "NULL"},
           {"1.0", "9", kDomain, "10.0.0.9", "", "PLAIN", "user", "password"},
           {"1.0", "10", "other-domain", "10.0.0.9", "", "CURVE", allowed_.public_key.raw()},
       }) {
    Frames reply = ask(request);
    ASSERT_EQ(reply.size(), 6u) << request.size();
    EXPECT_EQ(reply[2], "400") << request[0];
  }
  EXPECT_EQ(ask(curve_request(allowed_.public_key))[2], "200");
  EXPECT_EQ(zap_->counters().refused, 4u);
  EXPECT_EQ(zap_->counters().allowed, 1u);
}

TEST_F(ZapRequests, RefusalsOfOneKeyAreLoggedOncePerInterval) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ask(curve_request(stranger_.public_key))[2], "400");
  EXPECT_EQ(zap_->counters().refused, 3u);
  EXPECT_EQ(zap_->counters().logs_suppressed, 2u);
  // Another key is another line.
  EXPECT_EQ(ask(curve_request(generate_curve_keypair()->public_key))[2], "400");
  EXPECT_EQ(zap_->counters().logs_suppressed, 2u);
  clock_.advance(std::chrono::seconds(11));
  EXPECT_EQ(ask(curve_request(stranger_.public_key))[2], "400");
  EXPECT_EQ(zap_->counters().logs_suppressed, 2u);
}

}  // namespace
}  // namespace pl::net
