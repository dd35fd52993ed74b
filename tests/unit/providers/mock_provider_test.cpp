#include "worker/providers/mock_provider.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "tests/fakes/llm_doubles.h"

namespace pl::worker::providers {
namespace {

CompletionRequest ask(std::string prompt) {
  CompletionRequest r;
  r.model = "claude-sonnet-4-5";
  r.messages.push_back(Message::user(std::move(prompt)));
  return r;
}

ToolSpec tool(std::string name) {
  ToolSpec t;
  t.name = std::move(name);
  t.input_schema["type"] = "object";
  t.input_schema["properties"]["query"]["type"] = "string";
  return t;
}

TEST(MockProvider, TheSameRequestGetsTheSameAnswer) {
  MockProvider mock;
  auto a = mock.complete(ask("Summarise the report"), fakes::call_within());
  auto b = mock.complete(ask("Summarise the report"), fakes::call_within());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->text, b->text);
  EXPECT_EQ(a->text.rfind("[mock claude-sonnet-4-5] reply to \"Summarise the report\" (#", 0), 0u) << a->text;
  auto c = mock.complete(ask("Summarise the other report"), fakes::call_within());
  EXPECT_NE(a->text, c->text);
}

TEST(MockProvider, EveryAnswerIsMarkedMockAndHasSimulatedUsage) {
  auto c = MockProvider().complete(ask(std::string(400, 'a')), fakes::call_within());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->mock);
  EXPECT_EQ(c->provider, "mock");
  EXPECT_EQ(c->usage.input_tokens, 100);
  EXPECT_GT(c->usage.output_tokens, 0);
  EXPECT_EQ(c->stop_reason, StopReason::kEndTurn);
}

TEST(MockProvider, JsonOutputIsValidJson) {
  CompletionRequest r = ask("list the files");
  r.json_output = true;
  auto c = MockProvider().complete(r, fakes::call_within());
  ASSERT_TRUE(c.ok());
  auto v = parse_json(c->text);
  ASSERT_TRUE(v.ok()) << c->text;
  EXPECT_TRUE(v->get_bool("mock"));
  EXPECT_EQ(v->get_string("reply"), "list the files");
}

TEST(MockProvider, ACallDirectiveCallsAnOfferedTool) {
  CompletionRequest r = ask(R"(Find it. [[mock:call search {"query": "cats"}]])");
  r.tools.push_back(tool("search"));
  auto c = MockProvider().complete(r, fakes::call_within());
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->tool_calls.size(), 1u);
  EXPECT_EQ(c->tool_calls[0].name, "search");
  EXPECT_EQ(c->tool_calls[0].arguments.get_string("query"), "cats");
  EXPECT_EQ(c->stop_reason, StopReason::kToolUse);
}

TEST(MockProvider, ACallDirectiveForAToolNotOfferedIsIgnored) {
  CompletionRequest r = ask("[[mock:call delete_everything]]");
  r.tools.push_back(tool("search"));
  auto c = MockProvider().complete(r, fakes::call_within());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->tool_calls.empty());
}

TEST(MockProvider, AfterToolResultsItAnswersWithThem) {
  CompletionRequest r = ask("[[mock:call search]]");
  r.tools.push_back(tool("search"));
  r.messages.push_back(Message::assistant("", {ToolCall{"mock_call_0", "search", Value::object(), ""}}));
  r.messages.push_back(Message::results({ToolResult{"mock_call_0", "search", "3 cats", false}}));
  auto c = MockProvider().complete(r, fakes::call_within());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->tool_calls.empty());
  EXPECT_EQ(c->text, "[mock claude-sonnet-4-5] tool results: search -> 3 cats;");
}

TEST(MockProvider, ToolChoiceAnyCallsTheFirstToolWithSchemaShapedArguments) {
  CompletionRequest r = ask("extract");
  ToolSpec t;
  t.name = "structured_output";
  t.input_schema = *parse_json(R"({"type": "object", "required": ["name", "tags"],
      "properties": {"name": {"type": "string"}, "count": {"type": "integer", "minimum": 3},
                     "kind": {"type": "string", "enum": ["a", "b"]},
                     "tags": {"type": "array", "items": {"type": "string"}}}})");
  r.tools.push_back(t);
  r.tool_choice = ToolChoice::kAny;
  auto c = MockProvider().complete(r, fakes::call_within());
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->tool_calls.size(), 1u);
  EXPECT_EQ(to_json(c->tool_calls[0].arguments),
            R"({"count":3,"kind":"a","name":"mock","tags":["mock"]})");
}

TEST(MockProvider, AnErrorDirectiveFailsWithThatCode) {
  auto c = MockProvider().complete(ask("[[mock:error rate_limit]]"), fakes::call_within());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(c.error().message, "mock: simulated rate_limit");
}

// A test meant to simulate an outage or a slow call must not pass by running neither.
TEST(MockProvider, ADirectiveItCannotReadIsTheStepsMistakeNotIgnored) {
  for (const char* prompt : {"[[mock:error bogus_code]]", "[[mock:delay abc]]", "[[mock:delay -5]]",
                             "[[mock:delay 99999999999999999999]]"}) {
    auto c = MockProvider().complete(ask(prompt), fakes::call_within());
    ASSERT_FALSE(c.ok()) << prompt;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidInput) << prompt;
    EXPECT_NE(c.error().message.find(std::string("mock: ") + prompt + ": "), std::string::npos)
        << c.error().message;
  }
  EXPECT_EQ(
      MockProvider().complete(ask("[[mock:error internal]]"), fakes::call_within()).error().code,
      ErrorCode::kInternal);
  CompletionRequest r = ask("[[mock:call search {bad json]]");
  ToolSpec t;
  t.name = "search";
  r.tools.push_back(t);
  auto call = MockProvider().complete(r, fakes::call_within());
  ASSERT_FALSE(call.ok());
  EXPECT_NE(call.error().message.find("the arguments are not a JSON object"), std::string::npos)
      << call.error().message;
}

TEST(MockProvider, ADelayEndsAtTheDeadline) {
  const auto start = SteadyClock::now();
  auto c = MockProvider().complete(ask("[[mock:delay 5000]]"), fakes::call_within(std::chrono::milliseconds(50)));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kTimeout);
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(2));
}

TEST(MockProvider, ADelayEndsAtOnceOnCancel) {
  CancelToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    token.cancel("test");
  });
  const auto start = SteadyClock::now();
  auto c = MockProvider().complete(ask("[[mock:delay 5000]]"),
                                   CallContext{SteadyClock::now() + std::chrono::seconds(30), &token});
  canceller.join();
  EXPECT_EQ(c.error().code, ErrorCode::kCancelled);
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(2));
}

TEST(MockProvider, PreviewsCutOnCharacterBoundaries) {
  std::string prompt;
  for (int i = 0; i < 60; ++i) prompt += "é";  // two bytes each
  auto c = MockProvider().complete(ask(prompt), fakes::call_within());
  ASSERT_TRUE(c.ok());
  const std::string& t = c->text;
  const size_t open = t.find('"');
  const std::string quoted = t.substr(open + 1, t.find('"', open + 1) - open - 1);
  EXPECT_EQ(quoted.size() % 2, 0u);
}

}  // namespace
}  // namespace pl::worker::providers
