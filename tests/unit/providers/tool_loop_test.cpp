#include "worker/llm/tool_loop.h"

#include <gtest/gtest.h>

#include "tests/fakes/llm_doubles.h"
#include "tests/support/log_capture.h"
#include "worker/providers/spent.h"

namespace pl::worker::llm {
namespace {

using providers::CompletionRequest;
using providers::Message;

struct Loop {
  fakes::ScriptedProvider provider;
  fakes::FakeToolInvoker tools;
  Value work_context;
  ToolRunContext context;
  CompletionRequest request;

  Loop() {
    work_context["workspace_dir"] = "/tmp/ws";
    context.call = fakes::call_within();
    context.work_context = &work_context;
    context.step_name = "test";
    request.model = "m";
    request.messages.push_back(Message::user("go"));
    tools.add("search", [](const Value& args) -> Result<Value> { return Value("found " + args.get_string("query")); });
    tools.add("broken", [](const Value&) -> Result<Value> { return make_error(ErrorCode::kStepFailed, "exit 3"); });
    auto specs = tools.describe({"search", "broken"}, context.call);
    request.tools = *specs;
  }

  Result<Conversation> run(int max_turns = 5) {
    return run_conversation(provider, request, &tools, LoopSettings{max_turns, 64 * 1024}, context);
  }
};

using test::LogCapture;

Value query(const char* q) {
  Value v;
  v["query"] = q;
  return v;
}

TEST(ToolLoop, WithoutToolCallsItIsOneModelCall) {
  Loop l;
  l.provider.push_text("done", 7, 3);
  auto c = l.run();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->turns, 1);
  EXPECT_EQ(c->last.text, "done");
  EXPECT_EQ(c->usage.input_tokens, 7);
  EXPECT_TRUE(l.tools.calls.empty());
}

TEST(ToolLoop, RunsRequestedToolsAndSendsTheirResultsBack) {
  Loop l;
  l.provider.push_tool_call("search", query("cats"), "c1");
  l.provider.push_text("there are cats");
  auto c = l.run();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->turns, 2);
  EXPECT_EQ(c->last.text, "there are cats");
  EXPECT_EQ(c->usage.input_tokens, 20);
  ASSERT_EQ(l.tools.calls.size(), 1u);
  EXPECT_EQ(l.tools.calls[0].name, "search");
  EXPECT_EQ(l.tools.calls[0].workspace_dir, "/tmp/ws");
  ASSERT_EQ(l.provider.requests.size(), 2u);
  const auto& second = l.provider.requests[1].messages;
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second[1].tool_calls[0].id, "c1");
  EXPECT_EQ(second[2].tool_results[0].call_id, "c1");
  EXPECT_EQ(second[2].tool_results[0].content, "found cats");
  EXPECT_FALSE(second[2].tool_results[0].is_error);
  ASSERT_EQ(c->tool_calls.size(), 1u);
  EXPECT_EQ(c->tool_calls[0].result, Value("found cats"));
}

TEST(ToolLoop, AFailingToolIsReportedToTheModelAndTheLoopGoesOn) {
  Loop l;
  l.provider.push_tool_call("broken", Value::object());
  l.provider.push_text("the tool failed, sorry");
  auto c = l.run();
  ASSERT_TRUE(c.ok());
  const auto& results = l.provider.requests[1].messages[2].tool_results;
  EXPECT_TRUE(results[0].is_error);
  EXPECT_EQ(results[0].content, "exit 3");
  EXPECT_TRUE(c->tool_calls[0].is_error);
}

TEST(ToolLoop, AToolThatWasNotOfferedIsNeverRun) {
  Loop l;
  l.provider.push_tool_call("rm_rf", Value::object());
  l.provider.push_text("ok");
  auto c = l.run();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(l.tools.calls.empty());
  EXPECT_EQ(l.provider.requests[1].messages[2].tool_results[0].content, "tool \"rm_rf\" is not allowed in this step");
}

// Arguments the model sent that are not a JSON object fail that call, not the step: the model
// sees why and may try again.
TEST(ToolLoop, ArgumentsThatAreNotAJsonObjectFailTheCallAndTheLoopGoesOn) {
  Loop l;
  l.provider.push_tool_call("search", Value("{\"query\": oops"));
  l.provider.push_text("sorry");
  auto c = l.run();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(l.tools.calls.empty());
  const auto& result = l.provider.requests[1].messages[2].tool_results[0];
  EXPECT_TRUE(result.is_error);
  EXPECT_EQ(result.content, "the arguments of this call are not a JSON object: {\"query\": oops");
  EXPECT_EQ(c->last.text, "sorry");
}

TEST(ToolLoop, StopsAtMaxTurnsAndSaysSo) {
  Loop l;
  l.provider.push_tool_call("search", query("a"));
  l.provider.push_tool_call("search", query("b"));
  auto c = l.run(2);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->turns, 2);
  EXPECT_TRUE(c->hit_max_turns);
  EXPECT_EQ(l.tools.calls.size(), 1u);
  EXPECT_EQ(c->last.tool_calls.size(), 1u);
}

TEST(ToolLoop, WithoutAnInvokerToolCallsAreReturnedUnrun) {
  Loop l;
  l.provider.push_tool_call("search", query("x"));
  auto c = run_conversation(l.provider, l.request, nullptr, LoopSettings{}, l.context);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->turns, 1);
  EXPECT_FALSE(c->hit_max_turns);
  EXPECT_EQ(c->last.tool_calls.size(), 1u);
  EXPECT_TRUE(l.tools.calls.empty());
}

TEST(ToolLoop, AProviderErrorEndsTheLoopWithThatError) {
  Loop l;
  l.provider.push_tool_call("search", query("x"));
  l.provider.push_error(ErrorCode::kRateLimited, "anthropic: 429");
  auto c = l.run();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kRateLimited);
  // The first call was paid for: the error carries it.
  auto spent = providers::spent_of(c.error());
  ASSERT_TRUE(spent.has_value());
  EXPECT_EQ(spent->usage.input_tokens, 10);
  EXPECT_EQ(spent->usage.output_tokens, 5);
  EXPECT_EQ(spent->model, "scripted-model");
}

TEST(ToolLoop, AFailureBeforeAnyAnswerCarriesNothingSpent) {
  Loop l;
  l.provider.push_error(ErrorCode::kRateLimited, "anthropic: 429");
  auto c = l.run();
  ASSERT_FALSE(c.ok());
  EXPECT_FALSE(providers::spent_of(c.error()).has_value());
}

TEST(ToolLoop, ABilledFailureAfterAnAnswerCarriesBothCallsAndItsOwnModel) {
  Loop billed;
  Error refused = make_error(ErrorCode::kStepFailed, "anthropic: the model refused to answer");
  billed.provider.push_tool_call("search", query("x"));
  billed.provider.push_failure(providers::with_spent(refused, {{7, 1}, "m", "anthropic"}));
  auto both = billed.run();
  ASSERT_FALSE(both.ok());
  auto spent = providers::spent_of(both.error());
  ASSERT_TRUE(spent.has_value());
  EXPECT_EQ(spent->usage.input_tokens, 17);  // the tool call's answer and the refusal
  EXPECT_EQ(spent->usage.output_tokens, 6);
  EXPECT_EQ(spent->model, "m");  // the refused call's, the later one
}

TEST(ToolLoop, LongToolOutputIsCutWithANote) {
  Loop l;
  l.tools.add("chatty", [](const Value&) -> Result<Value> { return Value(std::string(100, 'x')); });
  l.request.tools = *l.tools.describe({"chatty"}, l.context.call);
  l.provider.push_tool_call("chatty", Value::object());
  l.provider.push_text("ok");
  auto c = run_conversation(l.provider, l.request, &l.tools, LoopSettings{5, 10}, l.context);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(l.provider.requests[1].messages[2].tool_results[0].content,
            "xxxxxxxxxx\n[truncated: the tool wrote 100 bytes]");
}

TEST(ToolLoop, JsonToolOutputIsSentAsJsonText) {
  Loop l;
  l.tools.add("json", [](const Value&) -> Result<Value> {
    Value v;
    v["n"] = 1;
    return v;
  });
  l.request.tools = *l.tools.describe({"json"}, l.context.call);
  l.provider.push_tool_call("json", Value::object());
  l.provider.push_text("ok");
  ASSERT_TRUE(l.run().ok());
  EXPECT_EQ(l.provider.requests[1].messages[2].tool_results[0].content, R"({"n":1})");
}

TEST(ToolLoop, ACancelledToolEndsTheStep) {
  Loop l;
  l.tools.add("stuck", [](const Value&) -> Result<Value> { return make_error(ErrorCode::kCancelled, "cancelled"); });
  l.request.tools = *l.tools.describe({"stuck"}, l.context.call);
  l.provider.push_tool_call("stuck", Value::object());
  auto c = l.run();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kCancelled);
  ASSERT_TRUE(providers::spent_of(c.error()).has_value());  // the call that asked for the tool
  EXPECT_EQ(providers::spent_of(c.error())->usage.input_tokens, 10);
}

TEST(ToolLoop, AnAnswerCutAtTheTokenLimitStandsAndIsLoggedWithTheStepAndTheLimit) {
  Loop l;
  l.request.max_tokens = 64;
  l.provider.push_tool_call("search", query("cats"));
  l.provider.push_cut_text("there are ca");
  LogCapture log;
  auto c = l.run();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->last.text, "there are ca");
  EXPECT_EQ(c->max_tokens, 64);
  const auto lines = log.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("test: the answer was cut at the output-token limit (max_tokens 64; "
                          "scripted said max_tokens)"),
            std::string::npos)
      << lines[0];
}

TEST(ToolLoop, AWholeAnswerLogsNothing) {
  Loop l;
  l.provider.push_text("done");
  LogCapture log;
  ASSERT_TRUE(l.run().ok());
  EXPECT_TRUE(log.lines().empty());
}

}  // namespace
}  // namespace pl::worker::llm
