#include "worker/providers/gemini_wire.h"

#include <gtest/gtest.h>

#include "tests/unit/providers/wire_test_util.h"

namespace pl::worker::providers {
namespace {

using testing::round_trip_request;

Endpoint endpoint() {
  Endpoint e;
  e.base_url = "https://gl.example";
  e.api_key = "g-secret";
  return e;
}

Value encoded(const CompletionRequest& r) { return *parse_json(GeminiWire().encode(endpoint(), r)); }

const char* kCallResponse = R"({
  "candidates": [{"content": {"role": "model", "parts": [
      {"text": "thinking...", "thought": true},
      {"text": "Let me check."},
      {"functionCall": {"name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "sig1"}]},
    "finishReason": "STOP"}],
  "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 10, "thoughtsTokenCount": 4},
  "modelVersion": "gemini-2.5-flash-001"})";

TEST(GeminiWire, PutsTheModelInThePathAndTheKeyInAHeader) {
  GeminiWire w;
  CompletionRequest r = round_trip_request();
  r.model = "models/gemini-2.5-flash";
  EXPECT_EQ(*w.url(endpoint(), r), "https://gl.example/v1beta/models/gemini-2.5-flash:generateContent");
  auto headers = w.headers(endpoint());
  EXPECT_NE(std::find(headers.begin(), headers.end(),
                      std::pair<std::string, std::string>("x-goog-api-key", "g-secret")),
            headers.end());
}

TEST(GeminiWire, RefusesModelNamesThatWouldChangeTheUrl) {
  CompletionRequest r = round_trip_request();
  for (const char* bad : {"../admin", "a/b", "x?key=y", "has space", ""}) {
    r.model = bad;
    auto url = GeminiWire().url(endpoint(), r);
    EXPECT_FALSE(url.ok()) << bad;
  }
}

TEST(GeminiWire, EncodesContentsFunctionsAndGenerationConfig) {
  CompletionRequest r = round_trip_request();
  r.top_k = 40;
  const Value body = encoded(r);
  const auto& contents = body.find("contents")->as_array();
  ASSERT_EQ(contents.size(), 3u);
  EXPECT_EQ(contents[0].get_string("role"), "user");
  EXPECT_EQ(contents[1].get_string("role"), "model");
  const auto& model_parts = contents[1].find("parts")->as_array();
  EXPECT_EQ(model_parts[1].find("functionCall")->get_string("name"), "weather");
  const Value* response = contents[2].find("parts")->as_array()[0].find("functionResponse");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->get_string("name"), "weather");
  EXPECT_EQ(response->find("response")->find("result")->get_string("sky"), "clear");  // JSON stays JSON
  EXPECT_EQ(body.find("systemInstruction")->find("parts")->as_array()[0].get_string("text"), "be brief");
  const Value* decl = &body.find("tools")->as_array()[0].find("functionDeclarations")->as_array()[0];
  EXPECT_EQ(decl->get_string("name"), "weather");
  ASSERT_TRUE(decl->find("parametersJsonSchema"));
  EXPECT_EQ(
      decl->find("parametersJsonSchema")->find("properties")->find("city")->get_string("type"),
      "string");
  EXPECT_FALSE(decl->find("parameters"));  // Gemini's OpenAPI subset: no additionalProperties
  const Value* config = body.find("generationConfig");
  EXPECT_EQ(config->get_int("maxOutputTokens"), 100);
  EXPECT_EQ(config->get_int("topK"), 40);
}

TEST(GeminiWire, AFunctionWithoutParametersDeclaresNone) {
  CompletionRequest r = round_trip_request();
  r.tools[0].input_schema = Value::object();
  const Value body = encoded(r);
  const Value& decl = body.find("tools")->as_array()[0].find("functionDeclarations")->as_array()[0];
  EXPECT_FALSE(decl.find("parameters"));
  EXPECT_FALSE(decl.find("parametersJsonSchema"));
}

TEST(GeminiWire, AFullJsonSchemaGoesAsParametersJsonSchemaUntouched) {
  CompletionRequest r = round_trip_request();
  r.tools[0].input_schema["additionalProperties"] = false;
  r.tools[0].input_schema["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  const Value body = encoded(r);
  const Value& decl = body.find("tools")->as_array()[0].find("functionDeclarations")->as_array()[0];
  ASSERT_TRUE(decl.find("parametersJsonSchema"));
  EXPECT_EQ(*decl.find("parametersJsonSchema"), r.tools[0].input_schema);
}

TEST(GeminiWire, ToolChoiceAnyIsModeAny) {
  CompletionRequest r = round_trip_request();
  r.tool_choice = ToolChoice::kAny;
  EXPECT_EQ(encoded(r).find("toolConfig")->find("functionCallingConfig")->get_string("mode"), "ANY");
}

TEST(GeminiWire, JsonOutputWithoutToolsAsksForJson) {
  CompletionRequest r;
  r.model = "m";
  r.messages.push_back(Message::user("x"));
  r.json_output = true;
  EXPECT_EQ(encoded(r).find("generationConfig")->get_string("responseMimeType"), "application/json");
}

TEST(GeminiWire, DecodesTextFunctionCallsAndUsageSkippingThoughts) {
  auto c = GeminiWire().decode(kCallResponse, round_trip_request());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->text, "Let me check.");
  ASSERT_EQ(c->tool_calls.size(), 1u);
  EXPECT_EQ(c->tool_calls[0].name, "weather");
  EXPECT_EQ(c->tool_calls[0].id, "call_0");
  EXPECT_EQ(c->tool_calls[0].signature, "sig1");
  EXPECT_EQ(c->stop_reason, StopReason::kToolUse);
  EXPECT_EQ(c->usage.input_tokens, 50);
  EXPECT_EQ(c->usage.output_tokens, 14);  // thoughts are billed as output
  EXPECT_EQ(c->model, "gemini-2.5-flash-001");
}

TEST(GeminiWire, TheThoughtSignatureGoesBackWithTheCall) {
  CompletionRequest r = round_trip_request();
  r.messages[1].tool_calls[0].signature = "sig1";
  const Value body = encoded(r);
  EXPECT_EQ(body.find("contents")->as_array()[1].find("parts")->as_array()[1].get_string("thoughtSignature"), "sig1");
}

TEST(GeminiWire, ABlockedPromptIsTheStepsFaultNotTheProviders) {
  auto c = GeminiWire().decode(R"({"promptFeedback": {"blockReason": "SAFETY"}})", round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
  EXPECT_EQ(c.error().message, "gemini: the prompt was blocked (SAFETY)");
  auto d = GeminiWire().decode(R"({"candidates": [{"finishReason": "SAFETY"}]})", round_trip_request());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kStepFailed);
  EXPECT_EQ(d.error().message, "gemini: the answer was blocked (finishReason SAFETY)");
}

TEST(GeminiWire, ABlockedAnswerFailsTheStepEvenWithPartialText) {
  auto c = GeminiWire().decode(
      R"({"candidates": [{"content": {"parts": [{"text": "Once upon"}]}, "finishReason": "RECITATION"}]})",
      round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
  EXPECT_EQ(c.error().message, "gemini: the answer was blocked (finishReason RECITATION)");
}

TEST(GeminiWire, AnAnswerCutAtTheTokenLimitBeforeAnyTextFailsTheStepSayingWhatToRaise) {
  // A thinking model can spend the whole budget on thoughts: no parts, or only thought parts.
  for (const char* body :
       {R"({"candidates": [{"content": {"role": "model"}, "finishReason": "MAX_TOKENS"}]})",
        R"({"candidates": [{"content": {"parts": [{"text": "hmm", "thought": true}]},
                            "finishReason": "MAX_TOKENS"}]})"}) {
    auto c = GeminiWire().decode(body, round_trip_request());
    ASSERT_FALSE(c.ok()) << body;
    EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
    EXPECT_FALSE(is_retryable(c.error().code));
    EXPECT_NE(c.error().message.find("output-token limit before any text"), std::string::npos);
    EXPECT_NE(c.error().message.find("finishReason MAX_TOKENS"), std::string::npos);
    EXPECT_NE(c.error().message.find("max output tokens"), std::string::npos);
  }
}

TEST(GeminiWire, AnEmptyAnswerForAnyOtherReasonIsARetryableServerErrorNamingIt) {
  for (const char* finish : {"STOP", "OTHER", "MALFORMED_FUNCTION_CALL", "SOMETHING_NEW"}) {
    const std::string body =
        std::string(R"({"candidates": [{"content": {"parts": []}, "finishReason": ")") + finish +
        R"("}]})";
    auto c = GeminiWire().decode(body, round_trip_request());
    ASSERT_FALSE(c.ok()) << finish;
    EXPECT_EQ(c.error().code, ErrorCode::kProviderError);
    EXPECT_EQ(c.error().message, "gemini: the answer has no text and no tool calls (finishReason " +
                                     std::string(finish) + ")");
  }
  auto d = GeminiWire().decode(R"({"candidates": [{}]})", round_trip_request());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message,
            "gemini: the answer has no text and no tool calls (no finishReason)");
}

TEST(GeminiWire, NoCandidatesIsAProviderError) {
  auto c = GeminiWire().decode(R"({"candidates": []})", round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kProviderError);
}

TEST(GeminiWire, EveryTruncationOfAResponseIsAnErrorNotACrash) {
  testing::for_each_truncation(kCallResponse, [](std::string_view body) {
    auto c = GeminiWire().decode(body, round_trip_request());
    if (!c.ok()) {
      EXPECT_EQ(c.error().code, ErrorCode::kProviderError);
    }
  });
}

TEST(GeminiWire, EveryWrongTypeAnywhereIsHandled) {
  testing::for_each_type_mutation(*parse_json(kCallResponse), [](const Value& body) {
    auto c = GeminiWire().decode(to_json(body), round_trip_request());
    if (!c.ok()) {
      EXPECT_TRUE(c.error().code == ErrorCode::kProviderError || c.error().code == ErrorCode::kStepFailed)
          << c.error().message;
    }
  });
}

TEST(GeminiWire, ErrorDetailAndRetryInfo) {
  const char* body = R"({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
      "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure"},
                  {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}]}})";
  EXPECT_EQ(GeminiWire().error_detail(body), "RESOURCE_EXHAUSTED: quota");
  EXPECT_EQ(GeminiWire().retry_hint(body), Duration(std::chrono::seconds(17)));
  EXPECT_FALSE(GeminiWire().retry_hint("{}"));
}

TEST(GeminiWire, FunctionCallsCutAtMaxTokensFailTheStepAndAreNotReturned) {
  auto c = GeminiWire().decode(R"({"candidates": [{"content": {"role": "model", "parts": [
      {"functionCall": {"name": "weather", "args": {"city": "Os"}}}]},
      "finishReason": "MAX_TOKENS"}], "usageMetadata": {"promptTokenCount": 5}})",
                               round_trip_request());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kStepFailed);
  EXPECT_NE(c.error().message.find("gemini: the answer was cut at the output-token limit inside a "
                                   "tool call (finishReason MAX_TOKENS) with max_tokens 100"),
            std::string::npos)
      << c.error().message;
}

TEST(GeminiWire, ATextAnswerCutAtMaxTokensStandsAndSaysSo) {
  auto c = GeminiWire().decode(R"({"candidates": [{"content": {"parts": [{"text": "2 and 3 wor"}]},
      "finishReason": "MAX_TOKENS"}]})",
                               round_trip_request());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(c->text, "2 and 3 wor");
}

TEST(GeminiWire, CachedContentTokensArePartOfTheInputAndKeptApart) {
  auto c = GeminiWire().decode(R"({"candidates": [{"content": {"parts": [{"text": "hi"}]},
      "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 2000,
      "cachedContentTokenCount": 1800, "candidatesTokenCount": 100}})",
                               round_trip_request());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->usage.input_tokens, 2000);
  EXPECT_EQ(c->usage.cache_read_tokens, 1800);
  EXPECT_EQ(c->usage.output_tokens, 100);
}

// A map of names to numbers constrains only by additionalProperties: it must still reach the
// model, or the forced call comes back as {} and passes as the structured output.
TEST(GeminiWire, ASchemaWithoutPropertiesIsStillSent) {
  CompletionRequest r = round_trip_request();
  r.tools[0].input_schema = *parse_json(
      R"({"type": "object", "additionalProperties": {"type": "number"}, "minProperties": 1})");
  const Value body = encoded(r);
  const Value& decl = body.find("tools")->as_array()[0].find("functionDeclarations")->as_array()[0];
  ASSERT_TRUE(decl.find("parametersJsonSchema"));
  EXPECT_EQ(*decl.find("parametersJsonSchema"), r.tools[0].input_schema);
  EXPECT_FALSE(decl.find("parameters"));
}
}  // namespace
}  // namespace pl::worker::providers
