#include "worker/providers/openai_wire.h"

#include <gtest/gtest.h>

#include "tests/unit/providers/wire_test_util.h"

namespace pl::worker::providers {
namespace {

using testing::round_trip_request;

Endpoint endpoint(std::string key = "sk-o") {
  Endpoint e;
  e.base_url = "http://localhost:11434/v1";
  e.api_key = std::move(key);
  return e;
}

Value encoded(const CompletionRequest& r) { return *parse_json(OpenAiWire().encode(endpoint(), r)); }

const char* kCallResponse = R"({
  "id": "chatcmpl-1", "model": "llama3",
  "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}]}}],
  "usage": {"prompt_tokens": 30, "completion_tokens": 9}})";

// kCallResponse, but cut at the length limit (its arguments happen to be whole).
const char* kCallResponse_cut = R"({
  "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant",
    "tool_calls": [{"id": "c1", "type": "function",
                    "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}]}}]})";

TEST(OpenAiWire, PostsToChatCompletionsUnderTheBaseUrl) {
  EXPECT_EQ(*OpenAiWire().url(endpoint(), round_trip_request()), "http://localhost:11434/v1/chat/completions");
}

TEST(OpenAiWire, SendsABearerKeyOnlyWhenThereIsOne) {
  auto with = OpenAiWire().headers(endpoint("sk-o"));
  EXPECT_NE(std::find(with.begin(), with.end(), std::pair<std::string, std::string>("authorization", "Bearer sk-o")),
            with.end());
  auto without = OpenAiWire().headers(endpoint(""));
  for (const auto& [name, value] : without) EXPECT_NE(name, "authorization");
}

TEST(OpenAiWire, EncodesSystemAssistantToolCallsAndToolMessages) {
  const Value body = encoded(round_trip_request());
  const auto& m = body.find("messages")->as_array();
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].get_string("role"), "system");
  EXPECT_EQ(m[1].get_string("role"), "user");
  EXPECT_EQ(m[2].get_string("role"), "assistant");
  const Value& call = m[2].find("tool_calls")->as_array()[0];
  EXPECT_EQ(call.get_string("id"), "call_7");
  EXPECT_EQ(*parse_json(call.find("function")->get_string("arguments")), *parse_json(R"({"city":"Paris"})"));
  EXPECT_EQ(m[3].get_string("role"), "tool");
  EXPECT_EQ(m[3].get_string("tool_call_id"), "call_7");
  const Value& tool = body.find("tools")->as_array()[0];
  EXPECT_EQ(tool.get_string("type"), "function");
  EXPECT_EQ(tool.find("function")->get_string("name"), "weather");
  EXPECT_EQ(body.get_int("max_tokens"), 100);
}

TEST(OpenAiWire, ToolChoiceAnyIsRequiredAndJsonOutputIsJsonObject) {
  CompletionRequest r = round_trip_request();
  r.tool_choice = ToolChoice::kAny;
  EXPECT_EQ(encoded(r).get_string("tool_choice"), "required");
  CompletionRequest plain;
  plain.model = "m";
  plain.messages.push_back(Message::user("x"));
  plain.json_output = true;
  EXPECT_EQ(encoded(plain).find("response_format")->get_string("type"), "json_object");
}

TEST(OpenAiWire, DecodesToolCallsWithJsonTextArguments) {
  auto c = OpenAiWire().decode(kCallResponse, round_trip_request());
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->tool_calls.size(), 1u);
  EXPECT_EQ(c->tool_calls[0].arguments.get_string("city"), "Rome");
  EXPECT_EQ(c->stop_reason, StopReason::kToolUse);
  EXPECT_EQ(c->usage.input_tokens, 30);
  EXPECT_EQ(c->usage.output_tokens, 9);
  EXPECT_EQ(c->model, "llama3");
}

TEST(OpenAiWire, AcceptsArgumentsSentAsAnObject) {
  auto c = OpenAiWire().decode(R"({"choices": [{"message": {"tool_calls": [
      {"function": {"name": "f", "arguments": {"a": 1}}}]}}]})",
                               round_trip_request());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->tool_calls[0].arguments.get_int("a"), 1);
  EXPECT_EQ(c->tool_calls[0].id, "call_0");
  EXPECT_TRUE(c->usage.estimated);
}

// Arguments that are not a JSON object are the model's mistake, not the provider's: kept as
// they came, for the tool loop to answer the call as failed (the model may try again).
TEST(OpenAiWire, ArgumentsThatAreNotAJsonObjectAreKeptForTheLoopToRefuse) {
  auto c = OpenAiWire().decode(R"({"choices": [{"message": {"tool_calls": [
      {"function": {"name": "f", "arguments": "{not json"}}]}}]})",
                               round_trip_request());
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->tool_calls.size(), 1u);
  EXPECT_EQ(c->tool_calls[0].arguments, Value("{not json"));
}

TEST(OpenAiWire, LengthIsMaxTokens) {
  auto c = OpenAiWire().decode(R"({"choices": [{"message": {"content": "abc"}, "finish_reason": "length"}]})",
                               round_trip_request());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->stop_reason, StopReason::kMaxTokens);
}

TEST(OpenAiWire, AContentFilterFailsTheStepNamingTheFinishReason) {
  for (const char* content : {"null", R"("partial")"}) {
    auto c = OpenAiWire().decode(std::string(R"({"choices": [{"message": {"content": )") + content +
                                     R"(}, "finish_reason": "content_filter"}]})",
                                 round_trip_request());
    ASSERT_FALSE(c.ok()) << content;
    EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
    EXPECT_EQ(c.error().message,
              "openai: the answer was withheld by a content filter (finish_reason content_filter)");
  }
}

TEST(OpenAiWire, ARefusalMessageFailsTheStep) {
  auto c = OpenAiWire().decode(
      R"({"choices": [{"message": {"content": null, "refusal": "I can't help with that."},
                       "finish_reason": "stop"}]})",
      round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
  EXPECT_EQ(c.error().message,
            "openai: the model refused to answer: I can't help with that. (finish_reason stop)");
}

TEST(OpenAiWire, AnEmptyAnswerCutAtTheLengthLimitFailsTheStepSayingWhatToRaise) {
  auto c = OpenAiWire().decode(
      R"({"choices": [{"message": {"content": ""}, "finish_reason": "length"}]})",
      round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
  EXPECT_NE(c.error().message.find("output-token limit before any text (finish_reason length)"),
            std::string::npos);
}

TEST(OpenAiWire, AnEmptyAnswerOtherwiseIsARetryableServerErrorNamingTheFinishReason) {
  auto c = OpenAiWire().decode(
      R"({"choices": [{"message": {"content": null}, "finish_reason": "stop"}]})",
      round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kProviderError);
  EXPECT_EQ(c.error().message,
            "openai: the answer has no text and no tool calls (finish_reason stop)");
}

TEST(OpenAiWire, EveryTruncationOfAResponseIsAnErrorNotACrash) {
  testing::for_each_truncation(kCallResponse, [](std::string_view body) {
    auto c = OpenAiWire().decode(body, round_trip_request());
    if (!c.ok()) {
      EXPECT_EQ(c.error().code, ErrorCode::kProviderError);
    }
  });
}

TEST(OpenAiWire, EveryWrongTypeAnywhereIsHandled) {
  testing::for_each_type_mutation(*parse_json(kCallResponse), [](const Value& body) {
    auto c = OpenAiWire().decode(to_json(body), round_trip_request());
    if (!c.ok()) {
      EXPECT_EQ(c.error().code, ErrorCode::kProviderError) << c.error().message;
    }
  });
}

TEST(OpenAiWire, ErrorDetailReadsOpenAiAndLocalServerShapes) {
  EXPECT_EQ(OpenAiWire().error_detail(R"({"error": {"message": "bad key", "type": "invalid_request_error"}})"),
            "invalid_request_error: bad key");
  EXPECT_EQ(OpenAiWire().error_detail(R"({"error": "model 'x' not found"})"), "model 'x' not found");
  EXPECT_EQ(OpenAiWire().error_detail(R"({"message": "loading"})"), "loading");
}

// The cut arguments must not be parsed (their parse failure was a retryable server_error, re-sent
// and counted against the breaker) nor run: the step fails, saying what to raise.
TEST(OpenAiWire, ToolCallsCutAtTheLengthLimitFailTheStepBeforeTheirArgumentsAreRead) {
  auto c = OpenAiWire().decode(R"({"choices": [{"message": {"content": null, "tool_calls": [
      {"id": "c1", "type": "function", "function": {"name": "word_count",
       "arguments": "{\"text\": \"one tw"}}]}, "finish_reason": "length"}],
      "usage": {"prompt_tokens": 50, "completion_tokens": 20}})",
                               round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
  EXPECT_EQ(c.error().message,
            "openai: the answer was cut at the output-token limit inside a tool call "
            "(finish_reason length) with max_tokens 100, so no tool was run: its arguments may be "
            "incomplete; raise the step's max output tokens (max_tokens, or "
            "token_budget.max_output_tokens in a gemini step)");
}

TEST(OpenAiWire, ToolCallsCutAtTheLimitFailEvenWhenTheirArgumentsParse) {
  auto c = OpenAiWire().decode(kCallResponse_cut, round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
}

TEST(OpenAiWire, CachedPromptTokensArePartOfTheInputAndKeptApart) {
  auto c = OpenAiWire().decode(R"({"choices": [{"message": {"content": "hi"},
      "finish_reason": "stop"}], "usage": {"prompt_tokens": 2000, "completion_tokens": 100,
      "prompt_tokens_details": {"cached_tokens": 1792, "audio_tokens": 0}}})",
                               round_trip_request());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->usage.input_tokens, 2000);
  EXPECT_EQ(c->usage.cache_read_tokens, 1792);
  EXPECT_EQ(c->usage.cache_write_tokens, 0);
  EXPECT_EQ(c->usage.output_tokens, 100);
}

TEST(OpenAiWire, CachedTokensThatAreNotACountAreMalformed) {
  auto c = OpenAiWire().decode(R"({"choices": [{"message": {"content": "hi"}}],
      "usage": {"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": "many"}}})",
                               round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "openai: malformed response: usage.prompt_tokens_details.cached_tokens is not a count");
}

TEST(OpenAiWire, OnlyInsufficientQuotaIsAnExhaustedAccount) {
  OpenAiWire w;
  EXPECT_TRUE(w.quota_exhausted(429, R"({"error": {"type": "insufficient_quota"}})"));
  EXPECT_TRUE(w.quota_exhausted(429, R"({"error": {"type": "x", "code": "insufficient_quota"}})"));
  EXPECT_FALSE(w.quota_exhausted(429, R"({"error": {"code": "rate_limit_exceeded"}})"));
  EXPECT_FALSE(w.quota_exhausted(429, "not json"));
  EXPECT_FALSE(w.quota_exhausted(400, R"({"error": {"type": "insufficient_quota"}})"));
}
}  // namespace
}  // namespace pl::worker::providers
