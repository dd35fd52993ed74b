// The three HTTP providers, over libcurl, against pipeline-fake-llm speaking each wire format.
#include <gtest/gtest.h>

#include "common/json.h"
#include "tests/fakes/llm_doubles.h"
#include "tests/integration/providers/fake_server_fixture.h"
#include "worker/llm/tool_loop.h"
#include "worker/providers/anthropic_wire.h"
#include "worker/providers/curl_http_client.h"
#include "worker/providers/gemini_wire.h"
#include "worker/providers/http_provider.h"
#include "worker/providers/openai_wire.h"

namespace pl::test {
namespace {

using namespace worker::providers;
using std::chrono::milliseconds;
using std::chrono::seconds;

class ProviderTest : public FakeServerTest, public ::testing::WithParamInterface<std::string> {
 protected:
  const std::string& api() const { return GetParam(); }

  std::unique_ptr<HttpProvider> provider(std::string key = "test-key", int max_retries = 2) {
    HttpProviderSettings s;
    s.endpoint.base_url = api() == "openai" ? server().openai_base_url() : server().base_url();
    s.endpoint.api_key = std::move(key);
    s.endpoint.version = "2023-06-01";
    s.retry.max_retries = max_retries;
    s.retry.base_delay = milliseconds(10);
    s.stall_timeout = milliseconds(500);
    std::unique_ptr<WireFormat> wire;
    if (api() == "anthropic") wire = std::make_unique<AnthropicWire>();
    if (api() == "gemini") wire = std::make_unique<GeminiWire>();
    if (api() == "openai") wire = std::make_unique<OpenAiWire>();
    return std::make_unique<HttpProvider>(std::move(wire), s, http_, RetryEffects::real(clock_));
  }

  static CompletionRequest ask(const std::string& prompt) {
    CompletionRequest r;
    r.model = "model-7";
    r.messages.push_back(Message::user(prompt));
    return r;
  }

  std::string unique(const std::string& what) const { return what + "-" + api(); }

  CurlHttpClient http_;
  RealClock clock_;
};

INSTANTIATE_TEST_SUITE_P(Apis, ProviderTest, ::testing::Values("anthropic", "gemini", "openai"),
                         [](const auto& info) { return info.param; });

TEST_P(ProviderTest, AnswersWithTextModelAndUsage) {
  auto c = provider()->complete(ask("hello " + unique("ok-marker")), fakes::call_within());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->provider, api());
  EXPECT_EQ(c->text, "fake " + api() + " answer from model-7");
  EXPECT_EQ(c->model, "model-7");
  EXPECT_EQ(c->usage.input_tokens, 11);
  EXPECT_EQ(c->usage.output_tokens, 7);
  EXPECT_FALSE(c->usage.estimated);
  EXPECT_FALSE(c->mock);
}

TEST_P(ProviderTest, SendsTheKeyAndVersionHeadersTheApiWants) {
  ASSERT_TRUE(provider()->complete(ask(unique("headers-marker")), fakes::call_within()).ok());
  const auto seen = server().requests_containing(unique("headers-marker"));
  ASSERT_EQ(seen.size(), 1u);
  const Value* h = seen[0].find("headers");
  if (api() == "anthropic") {
    EXPECT_EQ(h->get_string("x-api-key"), "test-key");
    EXPECT_EQ(h->get_string("anthropic-version"), "2023-06-01");
    EXPECT_EQ(seen[0].get_string("path"), "/v1/messages");
  } else if (api() == "gemini") {
    EXPECT_EQ(h->get_string("x-goog-api-key"), "test-key");
    EXPECT_EQ(seen[0].get_string("path"), "/v1beta/models/model-7:generateContent");
  } else {
    EXPECT_EQ(h->get_string("authorization"), "Bearer test-key");
    EXPECT_EQ(seen[0].get_string("path"), "/v1/chat/completions");
  }
  EXPECT_EQ(h->get_string("content-type"), "application/json");
}

TEST_P(ProviderTest, TheToolLoopRoundTripsThroughTheWireFormat) {
  fakes::FakeToolInvoker tools;
  tools.add("lookup", [](const Value& a) -> Result<Value> { return Value("looked up " + a.get_string("query")); });
  CompletionRequest r = ask("[[fake:tool]] " + unique("tool"));
  r.tools = *tools.describe({"lookup"}, fakes::call_within());
  auto p = provider();
  worker::llm::ToolRunContext context;
  context.call = fakes::call_within();
  auto c = worker::llm::run_conversation(*p, r, &tools, worker::llm::LoopSettings{}, context);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->turns, 2);
  ASSERT_EQ(tools.calls.size(), 1u);
  EXPECT_EQ(tools.calls[0].arguments.get_string("query"), "fake");
  if (api() == "gemini") {
    EXPECT_EQ(c->last.text, R"(tool said: {"result":"looked up fake"})");
  } else {
    EXPECT_EQ(c->last.text, "tool said: looked up fake");
  }
  EXPECT_EQ(c->usage.input_tokens, 22);
}

TEST_P(ProviderTest, RateLimitsAreRetriedUntilTheySucceed) {
  const std::string marker = "[[fake:fail:2:429:" + unique("rl") + "]]";
  auto c = provider()->complete(ask(marker), fakes::call_within());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(server().requests_containing(marker).size(), 3u);
}

TEST_P(ProviderTest, ServerErrorsAreRetriedUntilTheySucceed) {
  const std::string marker = "[[fake:fail:1:503:" + unique("5xx") + "]]";
  ASSERT_TRUE(provider()->complete(ask(marker), fakes::call_within()).ok());
  EXPECT_EQ(server().requests_containing(marker).size(), 2u);
}

TEST_P(ProviderTest, APersistentRateLimitIsReportedWithProviderStatusAndMessage) {
  auto c = provider()->complete(ask("[[fake:status:429:0]] " + unique("rl-always")), fakes::call_within());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kRateLimited);
  const std::string detail = api() == "anthropic" ? "rate_limit_error: fake 429"
                             : api() == "gemini"  ? "RESOURCE_EXHAUSTED: fake 429"
                                                  : "rate_limit_exceeded: fake 429";
  EXPECT_EQ(c.error().message, api() + ": 429 " + detail + " (after 2 retries)");
}

TEST_P(ProviderTest, RetryAfterSecondsAreWaitedFor) {
  const auto start = SteadyClock::now();
  auto c = provider("test-key", 1)->complete(ask("[[fake:status:429:1]] " + unique("ra")), fakes::call_within());
  ASSERT_FALSE(c.ok());
  EXPECT_GE(SteadyClock::now() - start, milliseconds(950));
  EXPECT_EQ(server().requests_containing(unique("ra")).size(), 2u);
}

TEST_P(ProviderTest, RetryAfterAsAnHttpDateIsHonoured) {
  auto c = provider("test-key", 1)->complete(ask("[[fake:status:503:date]] " + unique("date")), fakes::call_within());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kProviderError);
  EXPECT_EQ(server().requests_containing(unique("date")).size(), 2u);
}

TEST_P(ProviderTest, AServerErrorIsAProviderError) {
  auto c = provider("test-key", 0)->complete(ask("[[fake:status:500]]"), fakes::call_within());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kProviderError);
  EXPECT_EQ(c.error().message.rfind(api() + ": 500 ", 0), 0u) << c.error().message;
}

TEST_P(ProviderTest, MalformedWrongTypedAndEmptyBodiesAreProviderErrors) {
  for (const char* marker : {"[[fake:malformed]]", "[[fake:wrongtype]]", "[[fake:empty]]"}) {
    auto c = provider()->complete(ask(marker), fakes::call_within());
    ASSERT_FALSE(c.ok()) << marker;
    EXPECT_EQ(c.error().code, ErrorCode::kProviderError) << marker;
    EXPECT_EQ(c.error().message.rfind(api() + ": malformed response: ", 0), 0u) << c.error().message;
  }
}

TEST_P(ProviderTest, AResponseThatNeverFinishesTimesOut) {
  const auto start = SteadyClock::now();
  auto c = provider()->complete(ask("[[fake:hang]]"), fakes::call_within(seconds(20)));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kTimeout);
  EXPECT_LT(SteadyClock::now() - start, seconds(5));
}

TEST_P(ProviderTest, TheStepDeadlineBoundsASilentServer) {
  const auto start = SteadyClock::now();
  auto c = provider()->complete(ask("[[fake:silent]]"), fakes::call_within(milliseconds(700)));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kTimeout);
  EXPECT_LT(SteadyClock::now() - start, seconds(3));
}

TEST(ProviderKeys, AMissingKeyIsRefusedByTheApiAsInvalidInput) {
  fakes::FakeLlmServer server;
  CurlHttpClient http;
  RealClock clock;
  HttpProviderSettings s;
  s.endpoint.base_url = server.base_url();
  s.endpoint.version = "2023-06-01";
  HttpProvider p(std::make_unique<AnthropicWire>(), s, http, RetryEffects::real(clock));
  CompletionRequest r;
  r.model = "m";
  r.messages.push_back(Message::user("hi"));
  auto c = p.complete(r, fakes::call_within());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(c.error().message, "anthropic: 401 authentication_error: fake 401");
}

// The calls' arguments may be cut: no tool runs, the request is sent once, and the step fails
// with step_failed (neither retried by default nor counted by the circuit breaker).
TEST_P(ProviderTest, ToolCallsCutAtTheTokenLimitRunNothingAndAreSentOnce) {
  fakes::FakeToolInvoker tools;
  tools.add("lookup", [](const Value& a) -> Result<Value> {
    return Value("looked up " + a.get_string("query"));
  });
  CompletionRequest r = ask("[[fake:cut_tool]] " + unique("cut-tool"));
  r.tools = *tools.describe({"lookup"}, fakes::call_within());
  r.max_tokens = 1024;
  auto p = provider();
  worker::llm::ToolRunContext context;
  context.call = fakes::call_within();
  auto c = worker::llm::run_conversation(*p, r, &tools, worker::llm::LoopSettings{}, context);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
  EXPECT_NE(
      c.error().message.find(api() + ": the answer was cut at the output-token limit inside a "
                                     "tool call"),
      std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("with max_tokens 1024"), std::string::npos);
  EXPECT_TRUE(tools.calls.empty());
  EXPECT_EQ(server().requests_containing(unique("cut-tool")).size(), 1u);
}

TEST_P(ProviderTest, ATextAnswerCutAtTheTokenLimitStands) {
  auto c = provider()->complete(ask("[[fake:cut]] " + unique("cut-text")), fakes::call_within());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->text, R"({"answer": 4)");
  EXPECT_EQ(c->stop_reason, StopReason::kMaxTokens);
}

TEST_P(ProviderTest, CachedPromptTokensArePartOfTheInputAndKeptApart) {
  auto c =
      provider()->complete(ask("[[fake:cached:0:1800]] " + unique("cached")), fakes::call_within());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->usage.input_tokens, 1811);
  EXPECT_EQ(c->usage.cache_read_tokens, 1800);
}

TEST_P(ProviderTest, ARedirectIsAConfigurationErrorSentOnce) {
  auto c =
      provider()->complete(ask("[[fake:redirect]] " + unique("redirect")), fakes::call_within());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(c.error().message.find("301 from http://127.0.0.1:"), std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("a redirect to https://moved.example/v1, which is not followed; "
                                   "check the provider's base_url (providers." +
                                   api()),
            std::string::npos)
      << c.error().message;
  EXPECT_EQ(server().requests_containing(unique("redirect")).size(), 1u);
}

class OpenAiOnlyTest : public ProviderTest {};
INSTANTIATE_TEST_SUITE_P(OpenAi, OpenAiOnlyTest, ::testing::Values("openai"));

TEST_P(OpenAiOnlyTest, AnAccountOutOfQuotaIsSentOnceAndIsNotARateLimit) {
  auto c = provider()->complete(ask("[[fake:quota]] " + unique("quota")), fakes::call_within());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(c.error().message,
            "openai: 429 insufficient_quota: You exceeded your current quota, please check your "
            "plan and billing details. (the account's quota is exhausted: add credits or raise its "
            "spend limit; retrying cannot help)");
  EXPECT_EQ(server().requests_containing(unique("quota")).size(), 1u);
}

class GeminiOnlyTest : public ProviderTest {};
INSTANTIATE_TEST_SUITE_P(Gemini, GeminiOnlyTest, ::testing::Values("gemini"));

TEST_P(GeminiOnlyTest, RetryInfoInTheBodyIsWaitedFor) {
  const auto start = SteadyClock::now();
  auto c = provider("test-key", 1)->complete(ask("[[fake:retryinfo:1]]"), fakes::call_within());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kRateLimited);
  EXPECT_GE(SteadyClock::now() - start, milliseconds(950));
}

TEST_P(GeminiOnlyTest, ABlockedPromptFailsTheStep) {
  auto c = provider()->complete(ask("[[fake:blocked]]"), fakes::call_within());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
}

}  // namespace
}  // namespace pl::test
