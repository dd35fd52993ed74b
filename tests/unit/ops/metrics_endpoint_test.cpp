// The metrics endpoint's request counts over a real loopback socket: what the HTTP server
// answers itself counts as a request too.
#include "supervisor/metrics_endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pl::supervisor {
namespace {

using namespace std::chrono_literals;

class MetricsEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto address = parse_listen_address("127.0.0.1:0");
    ASSERT_TRUE(address.ok());
    // No broker: /metrics and /health are answered from the supervisor's facts alone.
    auto endpoint = MetricsEndpoint::start(*address, MetricsSpec{}, context_, "",
                                           [] { return SupervisorFacts{}; });
    ASSERT_TRUE(endpoint.ok()) << endpoint.error().message;
    endpoint_ = std::move(*endpoint);
  }

  // Sends `request` on a new connection and serves the endpoint until the answer is complete
  // (the server closes every connection after its answer); returns the answer.
  std::string exchange(const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(endpoint_->bound().port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string answer;
    const auto deadline = SteadyClock::now() + 10s;
    while (SteadyClock::now() < deadline) {
      std::vector<net::PollEntry> entries;
      endpoint_->add_poll_entries(entries);
      entries.push_back({nullptr, fd, false});
      if (!net::poll(entries, 50).ok()) break;
      endpoint_->after_poll(entries, clock_.now());
      if (!entries.back().readable) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) answer.append(buf, static_cast<size_t>(n));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
    }
    ::close(fd);
    return answer;
  }

  FakeClock clock_;
  net::Context context_;
  std::unique_ptr<MetricsEndpoint> endpoint_;
};

TEST_F(MetricsEndpointTest, RequestsTheServerRefusesItselfAreCountedUnderPathOther) {
  EXPECT_EQ(exchange("DELETE /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(exchange("GET /metrics SPDY/3\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  const std::string long_head = "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n";
  EXPECT_EQ(exchange(long_head).rfind("HTTP/1.1 431", 0), 0u);
  EXPECT_EQ(exchange("GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);

  const auto requests = endpoint_->requests();
  for (int status : {400, 405, 431}) {
    auto it = requests.find({"other", status});
    ASSERT_NE(it, requests.end()) << status;
    EXPECT_EQ(it->second, 1u) << status;
  }
  EXPECT_EQ(requests.at({"/metrics", 200}), 1u);
}

TEST(MetricsText, ExportsConnectionsThatTimedOut) {
  SupervisorFacts facts;
  facts.http_timed_out = 3;
  BrokerFacts no_broker;
  no_broker.probed = false;
  const std::string text = render_metrics(facts, no_broker);
  EXPECT_NE(text.find("\npipeline_http_connections_timed_out_total 3\n"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace pl::supervisor
