#include "worker/providers/http_provider.h"

#include <gtest/gtest.h>

#include <functional>

#include "tests/fakes/llm_doubles.h"
#include "worker/providers/anthropic_wire.h"
#include "worker/providers/gemini_wire.h"
#include "worker/providers/openai_wire.h"

namespace pl::worker::providers {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const char* kOk = R"({"content": [{"type": "text", "text": "hi"}], "model": "claude-x",
                      "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 1}})";
const char* kRateLimited = R"({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})";

// A provider over a fake transport whose waits only move a fake clock, and record themselves.
struct Fixture {
  FakeClock clock;
  fakes::FakeHttpClient http;
  std::vector<Duration> pauses;
  bool cancel_pauses = false;
  std::unique_ptr<HttpProvider> provider;

  explicit Fixture(std::unique_ptr<WireFormat> wire = std::make_unique<AnthropicWire>(), int max_retries = 2) {
    HttpProviderSettings s;
    s.endpoint.base_url = "https://api.example";
    s.endpoint.api_key = "sk-very-secret";
    s.endpoint.version = "2023-06-01";
    s.retry.max_retries = max_retries;
    s.retry.base_delay = milliseconds(100);
    RetryEffects e;
    e.clock = &clock;
    e.pause = [this](Duration d, const CallContext&) {
      pauses.push_back(d);
      clock.advance(d);
      return !cancel_pauses;
    };
    e.random01 = [] { return 0.5; };
    provider = std::make_unique<HttpProvider>(std::move(wire), s, http, std::move(e));
  }

  CallContext call(Duration within = seconds(60)) { return CallContext{clock.now() + within, nullptr}; }
};

CompletionRequest request() {
  CompletionRequest r;
  r.model = "claude-x";
  r.messages.push_back(Message::user("hello"));
  return r;
}

TEST(HttpProvider, ASuccessIsDecodedFromOneExchange) {
  Fixture f;
  f.http.push(200, kOk);
  auto c = f.provider->complete(request(), f.call());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->text, "hi");
  ASSERT_EQ(f.http.requests.size(), 1u);
  EXPECT_EQ(f.http.requests[0].url, "https://api.example/v1/messages");
  EXPECT_EQ(f.http.requests[0].method, "POST");
}

TEST(HttpProvider, EachExchangeIsBoundedByTheCallsDeadline) {
  Fixture f;
  f.http.push(200, kOk);
  const CallContext call = f.call(seconds(5));
  ASSERT_TRUE(f.provider->complete(request(), call).ok());
  EXPECT_EQ(f.http.requests[0].deadline, call.deadline);
}

TEST(HttpProvider, A429IsRetriedAfterTheRetryAfterItGives) {
  Fixture f;
  f.http.push(429, kRateLimited, {{"retry-after", "3"}});
  f.http.push(200, kOk);
  auto c = f.provider->complete(request(), f.call());
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(f.pauses.size(), 1u);
  EXPECT_EQ(f.pauses[0], Duration(seconds(3)));
  EXPECT_EQ(f.http.requests.size(), 2u);
}

TEST(HttpProvider, A5xxWithoutRetryAfterBacksOffExponentially) {
  Fixture f;
  f.http.push(503, "{}");
  f.http.push(500, "{}");
  f.http.push(200, kOk);
  ASSERT_TRUE(f.provider->complete(request(), f.call()).ok());
  ASSERT_EQ(f.pauses.size(), 2u);
  EXPECT_EQ(f.pauses[0], Duration(milliseconds(75)));   // 100 ms, jittered to 3/4
  EXPECT_EQ(f.pauses[1], Duration(milliseconds(150)));  // 200 ms, jittered to 3/4
}

TEST(HttpProvider, GivesUpAfterMaxRetriesNamingProviderStatusAndMessage) {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.http.push(429, kRateLimited, {{"retry-after", "1"}});
  auto c = f.provider->complete(request(), f.call());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(c.error().message, "anthropic: 429 rate_limit_error: slow down (after 2 retries)");
  EXPECT_EQ(f.http.requests.size(), 3u);
}

TEST(HttpProvider, StatusesMapToTheCodesTheBrokerRetriesBy) {
  struct Case {
    long status;
    ErrorCode code;
  } cases[] = {{301, ErrorCode::kInvalidInput},  {302, ErrorCode::kInvalidInput},
               {307, ErrorCode::kInvalidInput},  {400, ErrorCode::kInvalidInput},
               {401, ErrorCode::kInvalidInput},  {404, ErrorCode::kInvalidInput},
               {408, ErrorCode::kTimeout},       {429, ErrorCode::kRateLimited},
               {500, ErrorCode::kProviderError}, {529, ErrorCode::kProviderError}};
  for (const Case& k : cases) {
    Fixture f(std::make_unique<AnthropicWire>(), 0);
    f.http.push(k.status, "{}");
    auto c = f.provider->complete(request(), f.call());
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, k.code) << k.status;
  }
}

TEST(HttpProvider, ARetryAfterLongerThanTheTimeLeftIsNotWaitedFor) {
  Fixture f;
  f.http.push(429, kRateLimited, {{"retry-after", "30"}});
  auto c = f.provider->complete(request(), f.call(seconds(10)));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kRateLimited);
  EXPECT_TRUE(f.pauses.empty());
  EXPECT_NE(c.error().message.find("no time left"), std::string::npos);
}

TEST(HttpProvider, AWaitNotWaitedHereTravelsWithTheErrorForTheBroker) {
  Fixture f;  // max_retry_after is 60 s: 120 s goes back to the broker
  f.http.push(429, kRateLimited, {{"retry-after", "120"}});
  auto c = f.provider->complete(request(), f.call());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kRateLimited);
  EXPECT_TRUE(f.pauses.empty());
  EXPECT_EQ(c.error().retry_after_ms, 120000);
  EXPECT_NE(c.error().message.find("the provider asks to wait 120 s"), std::string::npos);
}

TEST(HttpProvider, AGeminiRetryInfoNotWaitedForTravelsToo) {
  Fixture f(std::make_unique<GeminiWire>());
  f.http.push(429, R"({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
      {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "25.5s"}]}})");
  auto c = f.provider->complete(request(), f.call(seconds(10)));  // no time left to wait here
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().retry_after_ms, 25500);
}

TEST(HttpProvider, AnErrorWithoutAHintCarriesNoWait) {
  Fixture f(std::make_unique<AnthropicWire>(), 0);
  f.http.push(503, "{}");
  auto c = f.provider->complete(request(), f.call());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().retry_after_ms, 0);
}

TEST(HttpProvider, CancelDuringABackoffStopsTheCall) {
  Fixture f;
  f.cancel_pauses = true;
  f.http.push(503, "{}");
  auto c = f.provider->complete(request(), f.call());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(f.http.requests.size(), 1u);
}

TEST(HttpProvider, ACancelledCallSendsNothing) {
  Fixture f;
  CancelToken token;
  token.cancel("stop");
  auto c = f.provider->complete(request(), CallContext{f.clock.now() + seconds(5), &token});
  EXPECT_EQ(c.error().code, ErrorCode::kCancelled);
  EXPECT_TRUE(f.http.requests.empty());
}

TEST(HttpProvider, APassedDeadlineSendsNothing) {
  Fixture f;
  auto c = f.provider->complete(request(), CallContext{f.clock.now(), nullptr});
  EXPECT_EQ(c.error().code, ErrorCode::kTimeout);
  EXPECT_TRUE(f.http.requests.empty());
}

TEST(HttpProvider, TransportErrorsKeepTheirCodeAndGainTheProvidersName) {
  Fixture f;
  f.http.push_error(ErrorCode::kUnavailable, "POST https://api.example/v1/messages: could not connect");
  auto c = f.provider->complete(request(), f.call());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(c.error().message, "anthropic: POST https://api.example/v1/messages: could not connect");
}

TEST(HttpProvider, TheKeyAppearsInAHeaderAndInNoErrorMessage) {
  Fixture f(std::make_unique<AnthropicWire>(), 0);
  f.http.push(401, R"({"error": {"type": "authentication_error", "message": "invalid x-api-key"}})");
  auto c = f.provider->complete(request(), f.call());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message.find("sk-very-secret"), std::string::npos);
  EXPECT_EQ(f.http.requests[0].url.find("sk-very-secret"), std::string::npos);
  EXPECT_EQ(f.http.requests[0].body.find("sk-very-secret"), std::string::npos);
}

TEST(HttpProvider, GeminiRetryInfoInTheBodyIsAHint) {
  Fixture f(std::make_unique<GeminiWire>());
  f.http.push(429, R"({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "q",
                      "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]}})");
  f.http.push(200, R"({"candidates": [{"content": {"parts": [{"text": "ok"}]}, "finishReason": "STOP"}]})");
  CompletionRequest r = request();
  r.model = "gemini-2.5-flash";
  auto c = f.provider->complete(r, f.call());
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(f.pauses.size(), 1u);
  EXPECT_EQ(f.pauses[0], Duration(seconds(2)));
}

TEST(HttpProvider, AMalformedSuccessIsAProviderErrorAndNotRetried) {
  Fixture f(std::make_unique<OpenAiWire>());
  f.http.push(200, "{\"choices\": [");
  auto c = f.provider->complete(request(), f.call());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kProviderError);
  EXPECT_EQ(c.error().message.rfind("openai: malformed response: not JSON", 0), 0u) << c.error().message;
  EXPECT_EQ(f.http.requests.size(), 1u);
}

// A refused, blocked or filtered answer is billed all the same: the error carries its tokens.
TEST(HttpProvider, AnAnswerRefusedAfterItWasBilledCarriesItsUsage) {
  struct Case {
    std::function<std::unique_ptr<WireFormat>()> wire;
    const char* body;
    int64_t input, output;
    const char* model;
  };
  const Case cases[] = {
      {[] { return std::make_unique<AnthropicWire>(); },
       R"({"content": [], "model": "claude-x", "stop_reason": "refusal",
           "usage": {"input_tokens": 30, "output_tokens": 2}})",
       30, 2, "claude-x"},
      {[] { return std::make_unique<GeminiWire>(); },
       R"({"candidates": [{"finishReason": "SAFETY"}], "modelVersion": "gemini-y",
           "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 0}})",
       40, 0, "gemini-y"},
      {[] { return std::make_unique<GeminiWire>(); },
       R"({"promptFeedback": {"blockReason": "SAFETY"},
           "usageMetadata": {"promptTokenCount": 12}})",
       12, 0, "claude-x"},  // no modelVersion: the model asked for
      {[] { return std::make_unique<OpenAiWire>(); },
       R"({"choices": [{"finish_reason": "content_filter", "message": {"content": null}}],
           "model": "gpt-z", "usage": {"prompt_tokens": 50, "completion_tokens": 3}})",
       50, 3, "gpt-z"},
  };
  for (const Case& c : cases) {
    Fixture f(c.wire());
    f.http.push(200, c.body);
    auto r = f.provider->complete(request(), f.call());
    ASSERT_FALSE(r.ok()) << c.body;
    auto spent = spent_of(r.error());
    ASSERT_TRUE(spent.has_value()) << r.error().message;
    EXPECT_EQ(spent->usage.input_tokens, c.input) << c.body;
    EXPECT_EQ(spent->usage.output_tokens, c.output) << c.body;
    EXPECT_EQ(spent->model, c.model);
  }
  // A body with no usage to read carries none.
  Fixture f;
  f.http.push(200, R"({"content": [], "stop_reason": "refusal"})");
  auto r = f.provider->complete(request(), f.call());
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(spent_of(r.error()).has_value());
}

const char* kQuotaExhausted =
    R"({"error": {"message": "You exceeded your current quota, please check your plan.",
                  "type": "insufficient_quota", "code": "insufficient_quota"}})";

TEST(HttpProvider, AnAccountOutOfQuotaIsSentOnceAndIsNotARateLimit) {
  Fixture f(std::make_unique<OpenAiWire>());
  f.http.push(429, kQuotaExhausted, {{"retry-after", "1"}});
  f.http.push(429, kQuotaExhausted);
  auto c = f.provider->complete(request(), f.call());
  ASSERT_FALSE(c.ok());
  // Not retried by the broker either, nor held against the provider's circuit breaker.
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidInput);
  EXPECT_FALSE(is_retryable(c.error().code));
  EXPECT_EQ(c.error().retry_after_ms, 0);
  EXPECT_NE(
      c.error().message.find("openai: 429 insufficient_quota: You exceeded your current quota"),
      std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("the account's quota is exhausted"), std::string::npos);
  EXPECT_EQ(f.http.requests.size(), 1u);
  EXPECT_TRUE(f.pauses.empty());
}

TEST(HttpProvider, AnOpenAiRateLimitIsStillRetried) {
  Fixture f(std::make_unique<OpenAiWire>());
  f.http.push(429, R"({"error": {"message": "slow down", "type": "requests",
                                 "code": "rate_limit_exceeded"}})");
  f.http.push(200, R"({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]})");
  auto c = f.provider->complete(request(), f.call());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(f.http.requests.size(), 2u);
}

TEST(HttpProvider, ARedirectIsNotFollowedAndBlamesTheBaseUrl) {
  Fixture f;
  f.http.push(301, "<html>moved</html>", {{"location", "https://api.example/v1/v1/messages"}});
  auto c = f.provider->complete(request(), f.call());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(c.error().message,
            "anthropic: 301 from https://api.example/v1/messages: a redirect to "
            "https://api.example/v1/v1/messages, which is not followed; check the provider's "
            "base_url (providers.anthropic.base_url, or the variable its base_url_env names)");
  EXPECT_EQ(f.http.requests.size(), 1u);
}

TEST(HttpProvider, ARedirectWithoutALocationSaysSo) {
  Fixture f;
  f.http.push(308, "");
  auto c = f.provider->complete(request(), f.call());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(c.error().message.find("308 from https://api.example/v1/messages: a redirect without a "
                                   "Location"),
            std::string::npos)
      << c.error().message;
}

}  // namespace
}  // namespace pl::worker::providers
