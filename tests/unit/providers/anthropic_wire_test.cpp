#include "worker/providers/anthropic_wire.h"

#include <gtest/gtest.h>

#include "tests/unit/providers/wire_test_util.h"

namespace pl::worker::providers {
namespace {

using testing::round_trip_request;

Endpoint endpoint() {
  Endpoint e;
  e.base_url = "https://api.example";
  e.api_key = "sk-secret";
  e.version = "2023-06-01";
  e.default_max_tokens = 4096;
  return e;
}

Value encoded(const CompletionRequest& r) { return *parse_json(AnthropicWire().encode(endpoint(), r)); }

const char* kToolUseResponse = R"({
  "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x-20250101",
  "content": [{"type": "thinking", "thinking": "hmm"},
              {"type": "text", "text": "Checking. "},
              {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}}],
  "stop_reason": "tool_use",
  "usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 5}})";

TEST(AnthropicWire, PostsToMessagesWithKeyAndVersionHeaders) {
  AnthropicWire w;
  EXPECT_EQ(*w.url(endpoint(), round_trip_request()), "https://api.example/v1/messages");
  auto headers = w.headers(endpoint());
  EXPECT_NE(std::find(headers.begin(), headers.end(), std::pair<std::string, std::string>("x-api-key", "sk-secret")),
            headers.end());
  EXPECT_NE(std::find(headers.begin(), headers.end(),
                      std::pair<std::string, std::string>("anthropic-version", "2023-06-01")),
            headers.end());
}

TEST(AnthropicWire, EncodesSystemToolsAndTheToolRoundTrip) {
  const Value body = encoded(round_trip_request());
  EXPECT_EQ(body.get_string("model"), "model-x");
  EXPECT_EQ(body.get_string("system"), "be brief");
  EXPECT_EQ(body.get_int("max_tokens"), 100);
  EXPECT_EQ(body.find("temperature")->as_double(), 0.5);
  const auto& messages = body.find("messages")->as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].get_string("content"), "what is the weather?");
  const auto& assistant = messages[1].find("content")->as_array();
  EXPECT_EQ(assistant[0].get_string("type"), "text");
  EXPECT_EQ(assistant[1].get_string("type"), "tool_use");
  EXPECT_EQ(assistant[1].get_string("id"), "call_7");
  EXPECT_EQ(assistant[1].find("input")->get_string("city"), "Paris");
  const auto& results = messages[2].find("content")->as_array();
  EXPECT_EQ(messages[2].get_string("role"), "user");
  EXPECT_EQ(results[0].get_string("type"), "tool_result");
  EXPECT_EQ(results[0].get_string("tool_use_id"), "call_7");
  const auto& tools = body.find("tools")->as_array();
  EXPECT_EQ(tools[0].get_string("name"), "weather");
  EXPECT_EQ(tools[0].find("input_schema")->get_string("type"), "object");
  EXPECT_FALSE(body.find("tool_choice"));
}

TEST(AnthropicWire, MaxTokensDefaultsToTheEndpointsBecauseTheApiRequiresIt) {
  CompletionRequest r = round_trip_request();
  r.max_tokens.reset();
  EXPECT_EQ(encoded(r).get_int("max_tokens"), 4096);
}

TEST(AnthropicWire, ToolChoiceAnyForcesAToolCall) {
  CompletionRequest r = round_trip_request();
  r.tool_choice = ToolChoice::kAny;
  EXPECT_EQ(encoded(r).find("tool_choice")->get_string("type"), "any");
}

TEST(AnthropicWire, ErroredToolResultsAreMarked) {
  CompletionRequest r = round_trip_request();
  r.messages[2].tool_results[0].is_error = true;
  EXPECT_TRUE(encoded(r).find("messages")->as_array()[2].find("content")->as_array()[0].get_bool("is_error"));
}

TEST(AnthropicWire, DecodesTextToolCallsStopReasonAndUsage) {
  auto c = AnthropicWire().decode(kToolUseResponse, round_trip_request());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->provider, "anthropic");
  EXPECT_EQ(c->model, "claude-x-20250101");
  EXPECT_EQ(c->text, "Checking. ");
  ASSERT_EQ(c->tool_calls.size(), 1u);
  EXPECT_EQ(c->tool_calls[0].id, "toolu_1");
  EXPECT_EQ(c->tool_calls[0].arguments.get_string("city"), "Oslo");
  EXPECT_EQ(c->stop_reason, StopReason::kToolUse);
  EXPECT_EQ(c->usage.input_tokens, 105);  // cache reads count as input
  EXPECT_EQ(c->usage.cache_read_tokens, 5);  // and are kept apart, to be priced at their rate
  EXPECT_EQ(c->usage.cache_write_tokens, 0);
  EXPECT_EQ(c->usage.output_tokens, 20);
  EXPECT_FALSE(c->usage.estimated);
}

TEST(AnthropicWire, MissingUsageIsEstimatedAndSaysSo) {
  auto c = AnthropicWire().decode(R"({"content": [{"type": "text", "text": "hello there"}],
                                      "stop_reason": "max_tokens"})",
                                  round_trip_request());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->usage.estimated);
  EXPECT_GT(c->usage.input_tokens, 0);
  EXPECT_EQ(c->stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(c->model, "model-x");
}

TEST(AnthropicWire, ARefusalFailsTheStepNamingTheStopReason) {
  for (const char* content : {"[]", R"([{"type": "text", "text": "I can"}])"}) {
    auto c = AnthropicWire().decode(
        std::string(R"({"content": )") + content + R"(, "stop_reason": "refusal"})",
        round_trip_request());
    ASSERT_FALSE(c.ok()) << content;
    EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
    EXPECT_EQ(c.error().message, "anthropic: the model refused to answer (stop_reason refusal)");
  }
}

TEST(AnthropicWire, AnEmptyAnswerCutAtMaxTokensFailsTheStepSayingWhatToRaise) {
  auto c = AnthropicWire().decode(R"({"content": [], "stop_reason": "max_tokens"})",
                                  round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
  EXPECT_NE(c.error().message.find("output-token limit before any text (stop_reason max_tokens)"),
            std::string::npos);
  EXPECT_NE(c.error().message.find("max_tokens"), std::string::npos);
}

TEST(AnthropicWire, AnEmptyAnswerOtherwiseIsARetryableServerErrorNamingTheStopReason) {
  auto c = AnthropicWire().decode(R"({"content": [{"type": "thinking", "thinking": "..."}],
                                      "stop_reason": "end_turn"})",
                                  round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kProviderError);
  EXPECT_EQ(c.error().message,
            "anthropic: the answer has no text and no tool calls (stop_reason end_turn)");
}

TEST(AnthropicWire, WrongShapesAreProviderErrorsNamingTheField) {
  auto c = AnthropicWire().decode(R"({"content": [{"type": "text", "text": 5}]})", round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kProviderError);
  EXPECT_EQ(c.error().message, "anthropic: malformed response: content[0].text is not a string");
  auto d = AnthropicWire().decode("[]", round_trip_request());
  EXPECT_EQ(d.error().code, ErrorCode::kProviderError);
  auto e = AnthropicWire().decode(R"({"content": [], "usage": {"input_tokens": -1}})", round_trip_request());
  EXPECT_EQ(e.error().code, ErrorCode::kProviderError);
}

TEST(AnthropicWire, EveryTruncationOfAResponseIsAnErrorNotACrash) {
  testing::for_each_truncation(kToolUseResponse, [](std::string_view body) {
    auto c = AnthropicWire().decode(body, round_trip_request());
    if (!c.ok()) {
      EXPECT_EQ(c.error().code, ErrorCode::kProviderError);
    }
  });
}

TEST(AnthropicWire, EveryWrongTypeAnywhereIsHandled) {
  testing::for_each_type_mutation(*parse_json(kToolUseResponse), [](const Value& body) {
    auto c = AnthropicWire().decode(to_json(body), round_trip_request());
    if (!c.ok()) {
      EXPECT_EQ(c.error().code, ErrorCode::kProviderError) << c.error().message;
    }
  });
}

TEST(AnthropicWire, ErrorDetailIsTheApisTypeAndMessage) {
  EXPECT_EQ(AnthropicWire().error_detail(
                R"({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})"),
            "rate_limit_error: slow down");
  EXPECT_EQ(AnthropicWire().error_detail("<html>\n bad gateway</html>"), "<html> bad gateway</html>");
  EXPECT_EQ(AnthropicWire().error_detail(""), "(empty body)");
}

TEST(AnthropicWire, ToolUseCutAtMaxTokensFailsTheStepAndRunsNothing) {
  for (const char* stop : {"max_tokens", "model_context_window_exceeded"}) {
    auto c = AnthropicWire().decode(std::string(R"({"content": [
        {"type": "text", "text": "I will count the words."},
        {"type": "tool_use", "id": "toolu_1", "name": "word_count", "input": {"text": "one two"}}],
        "stop_reason": ")") + stop + R"(", "usage": {"input_tokens": 50, "output_tokens": 20}})",
                                    round_trip_request());
    ASSERT_FALSE(c.ok()) << stop;
    EXPECT_EQ(c.error().code, ErrorCode::kStepFailed) << stop;
    EXPECT_NE(c.error().message.find(std::string("inside a tool call (stop_reason ") + stop +
                                     ") with max_tokens 100, so no tool was run"),
              std::string::npos)
        << c.error().message;
  }
}

TEST(AnthropicWire, TheMaxTokensMessageSaysToRaiseThemAndTheContextWindowOneToShortenThePrompt) {
  const auto message = [](const char* stop) {
    return AnthropicWire()
        .decode(std::string(R"({"content": [{"type": "tool_use", "id": "t", "name": "f"}],
                                "stop_reason": ")") +
                    stop + "\"}",
                round_trip_request())
        .error()
        .message;
  };
  EXPECT_NE(message("max_tokens").find("cut at the output-token limit"), std::string::npos);
  EXPECT_NE(message("max_tokens").find("raise the step's max output tokens"), std::string::npos);
  EXPECT_NE(message("model_context_window_exceeded").find("context window ran out"),
            std::string::npos);
  EXPECT_NE(message("model_context_window_exceeded").find("shorten the prompt"), std::string::npos);
}

TEST(AnthropicWire, AContextWindowStopHasItsOwnStopReason) {
  auto c = AnthropicWire().decode(R"({"content": [{"type": "text", "text": "partial"}],
                                      "stop_reason": "model_context_window_exceeded"})",
                                  round_trip_request());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->stop_reason, StopReason::kContextWindowExceeded);
  EXPECT_EQ(stop_reason_name(c->stop_reason), "context_window_exceeded");
}

TEST(AnthropicWire, OneHourCacheWritesAreKeptApartFromFiveMinuteOnes) {
  auto c = AnthropicWire().decode(R"({"content": [{"type": "text", "text": "hi"}],
      "stop_reason": "end_turn", "usage": {"input_tokens": 10, "output_tokens": 5,
      "cache_creation_input_tokens": 300, "cache_read_input_tokens": 40,
      "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200}}})",
                                  round_trip_request());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->usage.input_tokens, 350);
  EXPECT_EQ(c->usage.cache_write_tokens, 300);
  EXPECT_EQ(c->usage.cache_write_1h_tokens, 200);
  EXPECT_EQ(c->usage.cache_read_tokens, 40);
}

TEST(AnthropicWire, WithoutTheSplitEveryCacheWriteIsAFiveMinuteOne) {
  auto c = AnthropicWire().decode(R"({"content": [{"type": "text", "text": "hi"}],
      "usage": {"input_tokens": 10, "cache_creation_input_tokens": 300}})",
                                  round_trip_request());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->usage.cache_write_tokens, 300);
  EXPECT_EQ(c->usage.cache_write_1h_tokens, 0);
}

TEST(AnthropicWire, AMalformedCacheSplitIsNamed) {
  auto c = AnthropicWire().decode(R"({"content": [{"type": "text", "text": "hi"}],
      "usage": {"cache_creation": {"ephemeral_1h_input_tokens": -1}}})",
                                  round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "anthropic: malformed response: "
            "usage.cache_creation.ephemeral_1h_input_tokens is not a count");
}
}  // namespace
}  // namespace pl::worker::providers
