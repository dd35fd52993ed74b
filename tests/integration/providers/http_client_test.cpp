// CurlHttpClient against a real server process: every bound holds.
#include "worker/providers/curl_http_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "tests/integration/providers/fake_server_fixture.h"

namespace pl::test {
namespace {

using worker::providers::CurlHttpClient;
using worker::providers::HttpRequest;
using std::chrono::milliseconds;
using std::chrono::seconds;

class CurlHttpClientTest : public FakeServerTest {
 protected:
  HttpRequest post(const std::string& marker, Duration within = seconds(10)) {
    HttpRequest r;
    r.url = server().openai_base_url() + "/chat/completions";
    r.headers = {{"content-type", "application/json"}};
    r.body = R"({"model": "m", "messages": [{"role": "user", "content": ")" + marker + R"("}]})";
    r.deadline = SteadyClock::now() + within;
    r.stall_timeout = milliseconds(500);
    return r;
  }
  CurlHttpClient http_;
};

// A port nobody listens on: bound, then closed.
uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST_F(CurlHttpClientTest, ReturnsStatusHeadersAndBody) {
  auto r = http_.send(post("[[fake:status:429:7]]"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 429);
  ASSERT_TRUE(r->header("retry-after"));
  EXPECT_EQ(*r->header("retry-after"), "7");
  EXPECT_NE(r->body.find("fake 429"), std::string::npos);
}

TEST_F(CurlHttpClientTest, AResponseThatStallsAfterItsHeadersTimesOut) {
  const auto start = SteadyClock::now();
  auto r = http_.send(post("[[fake:hang]]"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_NE(r.error().message.find("stalled"), std::string::npos) << r.error().message;
  EXPECT_LT(SteadyClock::now() - start, seconds(5));
}

TEST_F(CurlHttpClientTest, AServerThatNeverAnswersTimesOutAtTheDeadline) {
  const auto start = SteadyClock::now();
  auto r = http_.send(post("[[fake:silent]]", milliseconds(800)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  const auto took = SteadyClock::now() - start;
  EXPECT_GE(took, milliseconds(700));
  EXPECT_LT(took, seconds(3));
}

TEST_F(CurlHttpClientTest, CancelStopsAWaitingRequestWithinASecondOrSo) {
  worker::CancelToken token;
  HttpRequest r = post("[[fake:silent]]", seconds(30));
  r.cancel = &token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(200));
    token.cancel("test");
  });
  const auto start = SteadyClock::now();
  auto out = http_.send(r);
  canceller.join();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kCancelled);
  EXPECT_LT(SteadyClock::now() - start, seconds(3));
}

TEST_F(CurlHttpClientTest, AClosedConnectionIsUnavailable) {
  auto r = http_.send(post("[[fake:close]]"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(CurlHttpClientTest, ARefusedConnectionIsUnavailable) {
  HttpRequest r = post("x");
  r.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/v1/chat/completions?key=secret";
  auto out = http_.send(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(out.error().message.find("secret"), std::string::npos) << out.error().message;
}

TEST_F(CurlHttpClientTest, ABodyOverTheLimitIsTooLarge) {
  HttpRequest r = post("[[fake:big:200000]]");
  r.max_response_bytes = 100000;
  auto out = http_.send(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kTooLarge);
}

TEST_F(CurlHttpClientTest, APassedDeadlineSendsNothing) {
  HttpRequest r = post("x");
  r.deadline = SteadyClock::now() - milliseconds(1);
  auto out = http_.send(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kTimeout);
}

}  // namespace
}  // namespace pl::test
