// The metrics endpoint's HTTP server: request heads parsed strictly and bounded, and a real
// loopback socket served without ever blocking.
#include "supervisor/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pl::supervisor {
namespace {

using namespace std::chrono_literals;

TEST(HttpHead, IsIncompleteUntilTheBlankLine) {
  EXPECT_EQ(parse_request_head("GET /metrics HTTP/1.1\r\nHost: x\r\n", 8192).status,
            HeadStatus::kIncomplete);
  ParsedHead p = parse_request_head("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 8192);
  ASSERT_EQ(p.status, HeadStatus::kComplete);
  EXPECT_EQ(p.request.method, "GET");
  EXPECT_EQ(p.request.path, "/metrics");
  EXPECT_EQ(parse_request_head("HEAD /health HTTP/1.0\n\n", 8192).status, HeadStatus::kComplete);
}

TEST(HttpHead, RefusesWhatIsNotAGetOrHeadOfAPath) {
  EXPECT_EQ(parse_request_head("POST /metrics HTTP/1.1\r\n\r\n", 8192).status,
            HeadStatus::kMethodNotAllowed);
  for (const char* bad : {"GET\r\n\r\n", "GET metrics HTTP/1.1\r\n\r\n", "GET /m HTTP/2\r\n\r\n",
                          "G(T /m HTTP/1.1\r\n\r\n", "GET /m\x01 HTTP/1.1\r\n\r\n"}) {
    EXPECT_EQ(parse_request_head(bad, 8192).status, HeadStatus::kBad) << bad;
  }
}

TEST(HttpHead, AHeadOverTheLimitIsTooLarge) {
  const std::string big = "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a');
  EXPECT_EQ(parse_request_head(big, 8192).status, HeadStatus::kTooLarge);
  EXPECT_EQ(parse_request_head(big + "\r\n\r\n", 8192).status, HeadStatus::kTooLarge);
}

TEST(HttpResponse, SaysItsLengthAndClosesAndLeavesTheBodyOutForHead) {
  HttpResponse r;
  r.body = "hi\n";
  EXPECT_EQ(serialize_response(r, false),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\nhi\n");
  EXPECT_EQ(serialize_response(r, true).find("hi\n"), std::string::npos);
}

// A client on a real loopback socket, driven by hand.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto address = parse_listen_address("127.0.0.1:0");
    ASSERT_TRUE(address.ok());
    HttpLimits limits;
    limits.max_connections = 2;
    limits.max_request_bytes = 256;
    limits.request_timeout = 200ms;
    limits.response_timeout = 400ms;
    auto server = HttpServer::listen(*address, limits);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
    ASSERT_NE(server_->bound().port, 0);
  }

  int connect_client() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_->bound().port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
  // One turn of the owner's loop: poll the server's fds (briefly), hand over what is ready.
  void turn() {
    std::vector<int> fds = server_->poll_fds();
    std::vector<pollfd> p;
    for (int fd : fds) p.push_back({fd, POLLIN, 0});
    ::poll(p.data(), p.size(), 50);
    std::vector<int> ready;
    for (const auto& e : p) {
      if (e.revents) ready.push_back(e.fd);
    }
    server_->on_readable(ready, clock_.now());
    server_->on_timer(clock_.now());
  }
  static std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 2000) > 0) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  FakeClock clock_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ServerTest, HandsOverACompleteRequestAndWritesTheAnswer) {
  const int fd = connect_client();
  const std::string req = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::vector<std::pair<HttpServer::ConnectionId, HttpRequest>> got;
  for (int i = 0; i < 20 && got.empty(); ++i) {
    turn();
    got = server_->take_requests();
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].second.path, "/health");
  HttpResponse r;
  r.body = "fine\n";
  server_->respond(got[0].first, r, clock_.now());
  const std::string answer = read_all(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("\r\n\r\nfine\n"), std::string::npos) << answer;
  EXPECT_EQ(server_->open_connections(), 0u);
  ::close(fd);
}

TEST_F(ServerTest, AnswersBadRequestsItselfAndNeverHandsThemOver) {
  const int fd = connect_client();
  const std::string req = "DELETE /metrics HTTP/1.1\r\n\r\n";
  ::send(fd, req.data(), req.size(), 0);
  std::string answer;
  for (int i = 0; i < 20 && server_->counters().bad_requests == 0; ++i) turn();
  answer = read_all(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 405", 0), 0u) << answer;
  EXPECT_NE(answer.find("Allow: GET, HEAD"), std::string::npos);
  EXPECT_TRUE(server_->take_requests().empty());
  ::close(fd);
}

TEST_F(ServerTest, ASilentClientIsClosedAtItsDeadline) {
  const int fd = connect_client();
  for (int i = 0; i < 20 && server_->open_connections() == 0; ++i) turn();
  ASSERT_EQ(server_->open_connections(), 1u);
  ASSERT_TRUE(server_->next_deadline().has_value());
  EXPECT_EQ(*server_->next_deadline() - clock_.now(), std::chrono::milliseconds(200));
  clock_.advance(200ms);
  server_->on_timer(clock_.now());
  EXPECT_EQ(server_->open_connections(), 0u);
  EXPECT_EQ(server_->counters().timed_out, 1u);
  EXPECT_FALSE(server_->next_deadline().has_value());
  ::close(fd);
}

TEST_F(ServerTest, ConnectionsOverTheLimitAreAnswered503AtOnce) {
  const int a = connect_client();
  const int b = connect_client();
  for (int i = 0; i < 20 && server_->open_connections() < 2; ++i) turn();
  ASSERT_EQ(server_->open_connections(), 2u);
  const int c = connect_client();
  for (int i = 0; i < 20 && server_->counters().refused_busy == 0; ++i) turn();
  EXPECT_EQ(read_all(c).rfind("HTTP/1.1 503", 0), 0u);
  EXPECT_EQ(server_->open_connections(), 2u);
  ::close(a);
  ::close(b);
  ::close(c);
}

TEST_F(ServerTest, AnAnswerToAClosedConnectionIsDropped) {
  const int fd = connect_client();
  const std::string req = "GET /metrics HTTP/1.1\r\n\r\n";
  ::send(fd, req.data(), req.size(), 0);
  std::vector<std::pair<HttpServer::ConnectionId, HttpRequest>> got;
  for (int i = 0; i < 20 && got.empty(); ++i) {
    turn();
    got = server_->take_requests();
  }
  ASSERT_EQ(got.size(), 1u);
  clock_.advance(400ms);  // the response deadline passes before the owner answers
  server_->on_timer(clock_.now());
  HttpResponse r;
  server_->respond(got[0].first, r, clock_.now());  // a no-op
  EXPECT_EQ(server_->open_connections(), 0u);
  ::close(fd);
}

}  // namespace
}  // namespace pl::supervisor
