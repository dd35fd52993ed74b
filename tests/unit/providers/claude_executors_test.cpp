// The claude family of executors, in process.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/unit/providers/executor_harness.h"
#include "worker/executors/claude_executor.h"
#include "worker/executors/claude_extract_executor.h"
#include "worker/executors/claude_robust_executor.h"
#include "worker/executors/claude_session_executor.h"
#include "worker/executors/claude_smart_executor.h"

namespace pl::worker {
namespace {

using testing::Harness;
using testing::json;

// ---- claude

TEST(ClaudeExecutor, WithoutAKeyTheMockAnswersAndEveryResultSaysSo) {
  Harness h(Harness::Providers::kMock);
  ClaudeExecutor e(h.services);
  auto r = h.run(e, "claude", json(R"({"prompt": "Say hi", "task_id": "t7"})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->get_bool("mock"));
  EXPECT_EQ(r->get_string("provider"), "mock");
  EXPECT_EQ(r->get_string("stands_in_for"), "anthropic");
  EXPECT_EQ(r->get_string("model"), "claude-sonnet-4-5");
  EXPECT_EQ(r->get_string("text").rfind("[mock claude-sonnet-4-5] reply to \"Say hi\"", 0), 0u);
  EXPECT_EQ(r->find("usage")->find("cost_usd")->as_double(), 0.0);
  EXPECT_EQ(r->get_string("task_id"), "t7");
  EXPECT_EQ(r->get_int("turns"), 1);
}

TEST(ClaudeExecutor, OptionsReachTheProviderAndUsageIsPriced) {
  Harness h;
  h.anthropic->push_text("hello", 1000, 100);
  ClaudeExecutor e(h.services);
  auto r = h.run(e, "claude", json(R"({"prompt": [{"type": "static", "content": "Hi"}],
      "claude_options": {"model": "sonnet", "system_prompt": "Be terse.", "max_tokens": 50, "temperature": 0}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& req = h.anthropic->requests.at(0);
  EXPECT_EQ(req.model, "claude-sonnet-4-5");
  EXPECT_EQ(req.system, "Be terse.");
  EXPECT_EQ(req.max_tokens, 50);
  EXPECT_EQ(req.messages.at(0).text, "Hi");
  EXPECT_FALSE(r->find("mock"));
  EXPECT_EQ(r->get_string("provider"), "anthropic");
  EXPECT_DOUBLE_EQ(r->find("usage")->find("cost_usd")->as_double(), 0.003);
  EXPECT_EQ(r->get_string("stop_reason"), "end_turn");
}

TEST(ClaudeExecutor, AllowedToolsRunInTheLoop) {
  Harness h;
  h.anthropic->push_tool_call("search", json(R"({"query": "otters"})"));
  h.anthropic->push_text("otters found");
  ClaudeExecutor e(h.services);
  auto r = h.run(e, "claude", json(R"({"prompt": "find otters", "claude_options": {"allowed_tools": ["search"]}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "otters found");
  EXPECT_EQ(r->get_int("turns"), 2);
  const Value& call = r->find("tool_calls")->as_array().at(0);
  EXPECT_EQ(call.get_string("name"), "search");
  EXPECT_EQ(call.get_string("result"), "found otters");
  ASSERT_EQ(h.tools->calls.size(), 1u);
  EXPECT_EQ(h.tools->calls[0].workspace_dir, (h.dir.path() / "ws").string());
  EXPECT_EQ(h.anthropic->requests.at(0).tools.at(0).name, "search");
}

// Claude Code's own tools named in allowed_tools (Read) are left out of the call: the result
// says so, where the user sees it, not only the worker's log.
TEST(ClaudeExecutor, AllowedToolsTheCallWentOnWithoutAreNamedInTheResultsWarnings) {
  Harness h;
  h.tools->skip("Read");
  h.anthropic->push_text("done");
  ClaudeExecutor e(h.services);
  auto r =
      h.run(e, "claude",
            json(R"({"prompt": "x", "claude_options": {"allowed_tools": ["search", "Read"]}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(h.anthropic->requests.at(0).tools.size(), 1u);
  const Value* warnings = r->find("warnings");
  ASSERT_NE(warnings, nullptr) << to_json(*r);
  ASSERT_EQ(warnings->size(), 1u);
  EXPECT_EQ(warnings->as_array()[0].as_string(),
            "allowed_tools names Claude Code's own tools Read, not registered here: the call went "
            "on without them");
  h.anthropic->push_text("again");
  auto plain = h.run(e, "claude", json(R"({"prompt": "x"})"));
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->find("warnings"), nullptr);
}

TEST(ClaudeExecutor, TheMockDrivesTheToolLoopWhenThePromptAsks) {
  Harness h(Harness::Providers::kMock);
  ClaudeExecutor e(h.services);
  auto r = h.run(e, "claude", json(R"({"prompt": "Look it up [[mock:call search {\"query\": \"moles\"}]]",
                                       "claude_options": {"allowed_tools": ["search"]}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_int("turns"), 2);
  EXPECT_EQ(r->get_string("text"), "[mock claude-sonnet-4-5] tool results: search -> found moles;");
}

TEST(ClaudeExecutor, UnknownAllowedToolsFailBeforeTheModelIsCalled) {
  Harness h;
  ClaudeExecutor e(h.services);
  auto r = h.run(e, "claude", json(R"({"prompt": "x", "claude_options": {"allowed_tools": ["Write", "Bash"]}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message, "allowed_tools: no such tools: Write, Bash");
  EXPECT_TRUE(h.anthropic->requests.empty());
}

TEST(ClaudeExecutor, WithoutARegistryToolsFailClearly) {
  Harness h(Harness::Providers::kMock, Harness::Registry::kUnwired);
  ClaudeExecutor e(h.services);
  auto r = h.run(e, "claude", json(R"({"prompt": "x", "claude_options": {"allowed_tools": ["search"]}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kStepFailed);
  EXPECT_NE(r.error().message.find("tools are not available on this worker"), std::string::npos);
}

TEST(ClaudeExecutor, ProviderErrorsKeepTheirCode) {
  Harness h;
  h.anthropic->push_error(ErrorCode::kRateLimited, "anthropic: 429 rate_limit_error: slow down");
  ClaudeExecutor e(h.services);
  auto r = h.run(e, "claude", json(R"({"prompt": "x"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(r.error().message, "anthropic: 429 rate_limit_error: slow down");
}

// A failure after calls that were paid for reports their cost, priced, as a success would.
TEST(ClaudeExecutor, AProviderErrorAfterPaidCallsKeepsTheirUsage) {
  Harness h;
  h.anthropic->push_tool_call("search", json(R"({"query": "otters"})"));  // 10 in, 5 out
  h.anthropic->push_error(ErrorCode::kUnavailable, "anthropic: 529 overloaded");
  ClaudeExecutor e(h.services);
  auto r =
      h.run(e, "claude",
            json(R"({"prompt": "find otters", "claude_options": {"allowed_tools": ["search"]}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  ASSERT_TRUE(r.error().fields);
  const Value& fields = *r.error().fields;
  EXPECT_EQ(fields.get_string("provider"), "anthropic");
  EXPECT_EQ(fields.get_string("model"), "scripted-model");
  EXPECT_EQ(fields.find("usage")->get_int("input_tokens"), 10);
  EXPECT_EQ(fields.find("usage")->get_int("output_tokens"), 5);
  EXPECT_DOUBLE_EQ(fields.find("usage")->find("cost_usd")->as_double(), 0.00007);
  // The worker's failed result keeps them.
  const Value failed = failed_result(fields, r.error());
  EXPECT_FALSE(failed.get_bool("success", true));
  EXPECT_EQ(failed.find("usage")->get_int("input_tokens"), 10);
}

TEST(ClaudeExecutor, APromptFileIsReadFromThePipelineDirectory) {
  Harness h;
  std::ofstream(h.dir.path() / "p.md") << "from a file";
  h.anthropic->push_text("ok");
  ClaudeExecutor e(h.services);
  ASSERT_TRUE(h.run(e, "claude", json(R"({"prompt": [{"type": "file", "path": "p.md"}]})")).ok());
  EXPECT_EQ(h.anthropic->requests.at(0).messages.at(0).text, "from a file");
}

TEST(ClaudeExecutor, ABatchTasksPresetFillsOptionsTheTaskLeavesOut) {
  Harness h;
  h.anthropic->push_text("ok");
  ClaudeExecutor e(h.services);
  auto r = h.run(e, "claude", json(R"({"prompt": "x", "preset": "chat", "task_id": "t1",
                                      "claude_options": {"max_tokens": 99}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& req = h.anthropic->requests.at(0);
  EXPECT_EQ(req.max_tokens, 99);
  EXPECT_DOUBLE_EQ(*req.temperature, 0.7);
  EXPECT_NE(req.system.find("helpful assistant"), std::string::npos);
  EXPECT_EQ(r->get_string("preset"), "chat");
  EXPECT_EQ(r->get_string("task_id"), "t1");
}

// ---- claude_smart and claude_extract

TEST(ClaudeSmartExecutor, ThePresetFillsOptionsTheStepLeavesOut) {
  Harness h;
  h.anthropic->push_text("ok");
  ClaudeSmartExecutor e(h.services);
  auto r = h.run(e, "claude_smart", json(R"({"prompt": "x", "preset": "chat", "claude_options": {"max_tokens": 99}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& req = h.anthropic->requests.at(0);
  EXPECT_EQ(req.max_tokens, 99);
  EXPECT_DOUBLE_EQ(*req.temperature, 0.7);
  EXPECT_NE(req.system.find("helpful assistant"), std::string::npos);
  EXPECT_EQ(r->get_string("preset"), "chat");
}

TEST(ClaudeSmartExecutor, DefaultsToTheDevelopmentPreset) {
  Harness h;
  h.anthropic->push_text("ok");
  ClaudeSmartExecutor e(h.services);
  auto r = h.run(e, "claude_smart", json(R"({"prompt": "x"})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->get_string("preset"), "development");
  EXPECT_EQ(h.anthropic->requests.at(0).max_tokens, 8192);
}

TEST(ClaudeExtractExecutor, JsonFormatPutsTheValueInData) {
  Harness h;
  h.anthropic->push_text("Sure:\n```json\n{\"files\": [\"a.c\"]}\n```");
  ClaudeExtractExecutor e(h.services);
  auto r = h.run(e, "claude_extract", json(R"({"prompt": "list", "extraction_config": {"format": "json"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->find("data")->find("files")->size(), 1u);
  const auto& req = h.anthropic->requests.at(0);
  EXPECT_TRUE(req.json_output);
  EXPECT_NE(req.system.find("JSON value only"), std::string::npos);
  EXPECT_NE(req.system.find("code analysis expert"), std::string::npos);  // the analysis preset
}

TEST(ClaudeExtractExecutor, TheMocksJsonAnswerParses) {
  Harness h(Harness::Providers::kMock);
  ClaudeExtractExecutor e(h.services);
  auto r = h.run(e, "claude_extract", json(R"({"prompt": "list", "extraction_config": {"format": "json"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->find("data")->get_bool("mock"));
}

TEST(ClaudeExtractExecutor, PostProcessingFillsExtracted) {
  Harness h;
  h.anthropic->push_text("- one\n- two\nSee https://x.io/y\n```sh\nls\n```\n");
  ClaudeExtractExecutor e(h.services);
  auto r = h.run(e, "claude_extract", json(R"({"prompt": "x", "extraction_config": {
      "post_processing": ["extract_key_points", "extract_links", "extract_code_blocks"], "include_metadata": true}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Value* x = r->find("extracted");
  EXPECT_EQ(x->find("key_points")->size(), 2u);
  EXPECT_EQ(x->find("links")->as_array().at(0).as_string(), "https://x.io/y");
  EXPECT_EQ(x->find("code_blocks")->as_array().at(0).get_string("language"), "sh");
  EXPECT_EQ(r->find("extraction")->get_string("format"), "text");
}

TEST(ClaudeExtractExecutor, AnAnswerWithoutJsonFailsTheStep) {
  Harness h;
  h.anthropic->push_text("no json here");
  ClaudeExtractExecutor e(h.services);
  auto r = h.run(e, "claude_extract", json(R"({"prompt": "x", "extraction_config": {"format": "json"}})"));
  // A failure that keeps what the call paid for.
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(is_failed_result(*r));
  EXPECT_EQ(r->get_string("error_code"), "step_failed");
  EXPECT_NE(r->find("usage"), nullptr);
  EXPECT_EQ(r->get_string("error"), "claude_extract: the answer holds no JSON value");
}

TEST(ClaudeExtractExecutor, JsonCutAtTheTokenLimitSaysSoAndWhatToRaise) {
  Harness h;
  h.anthropic->push_cut_text(R"({"items": [1, 2, 3)");
  ClaudeExtractExecutor e(h.services);
  auto r = h.run(e, "claude_extract", json(R"({"prompt": "x", "claude_options": {"max_tokens": 100},
      "extraction_config": {"format": "json"}})"));
  // A failure that keeps what the call paid for.
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(is_failed_result(*r));
  EXPECT_EQ(r->get_string("error_code"), "step_failed");
  EXPECT_NE(r->find("usage"), nullptr);
  EXPECT_EQ(r->get_string("error"),
            "claude_extract: the answer holds no JSON value; the answer was cut at the "
            "output-token limit (max_tokens 100), which is likely why: raise the step's max "
            "output tokens (max_tokens, or token_budget.max_output_tokens in a gemini step)");
}

TEST(ClaudeExecutor, ATextAnswerCutAtTheTokenLimitIsASuccessThatSaysSo) {
  Harness h;
  h.anthropic->push_cut_text("The first half");
  h.anthropic->push_cut_text("The context ran", providers::StopReason::kContextWindowExceeded);
  ClaudeExecutor e(h.services);
  auto first = h.run(e, "claude", json(R"({"prompt": "x"})"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->get_string("text"), "The first half");
  EXPECT_EQ(first->get_string("stop_reason"), "max_tokens");
  auto second = h.run(e, "claude", json(R"({"prompt": "x"})"));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->get_string("stop_reason"), "context_window_exceeded");
}

// ---- claude_robust

const char* kRobust = R"({"prompt": "deploy", "retry_config": {"max_retries": 2, "retry_conditions": ["rate_limit"],
                          "fallback_action": "%s"}})";

Value robust_input(const char* action) {
  char buf[512];
  std::snprintf(buf, sizeof buf, kRobust, action);
  return json(buf);
}

TEST(ClaudeRobustExecutor, ARetryableErrorBeforeTheLastAttemptGoesBackToTheBroker) {
  Harness h;
  h.anthropic->push_error(ErrorCode::kRateLimited, "anthropic: 429");
  ClaudeRobustExecutor e(h.services);
  auto r = h.run(e, "claude_robust", robust_input("mock_response"), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRateLimited);
}

TEST(ClaudeRobustExecutor, OnTheLastAttemptTheMockResponseFallbackAnswers) {
  Harness h;
  h.anthropic->push_error(ErrorCode::kRateLimited, "anthropic: 429");
  ClaudeRobustExecutor e(h.services);
  auto r = h.run(e, "claude_robust", robust_input("mock_response"), 3);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->get_bool("mock"));
  EXPECT_EQ(r->get_string("provider"), "mock");
  // As the model the step asked for, here Anthropic's default, standing in for Anthropic.
  EXPECT_EQ(r->get_string("model"), "claude-default");
  EXPECT_EQ(r->get_string("stands_in_for"), "anthropic");
  EXPECT_EQ(r->get_string("fallback"), "mock_response");
  EXPECT_EQ(r->get_string("original_error"), "anthropic: 429");
  EXPECT_EQ(r->get_string("original_error_code"), "rate_limit");  // for the broker's breaker
  EXPECT_EQ(r->get_int("attempt"), 3);
}

TEST(ClaudeRobustExecutor, AFallbackCountsWhatTheFailedCallsCost) {
  Harness h;
  h.anthropic->push_tool_call("search", json(R"({"query": "otters"})"));  // paid: 10 in, 5 out
  h.anthropic->push_error(ErrorCode::kRateLimited, "anthropic: 429");
  ClaudeRobustExecutor e(h.services);
  Value input = robust_input("mock_response");
  input["claude_options"]["allowed_tools"] = Value(Value::Array{Value("search")});
  auto r = h.run(e, "claude_robust", input, 3);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("fallback"), "mock_response");
  const Value& usage = *r->find("usage");
  // The mock's answer costs 0; the paid call before the failure does not.
  EXPECT_GT(usage.get_int("input_tokens"), 10);
  EXPECT_DOUBLE_EQ(usage.find("cost_usd")->as_double(), 0.00007);
}

TEST(ClaudeRobustExecutor, WhenTheStepsRetryLeavesNoAttemptTheFallbackApplies) {
  // retry_config says 2 retries, but the step's `retry: {max_attempts: 1}` is what the broker
  // runs, and the item says so.
  Harness h;
  h.anthropic->push_error(ErrorCode::kRateLimited, "anthropic: 429");
  ClaudeRobustExecutor e(h.services);
  auto r = h.run(e, "claude_robust", robust_input("skip"), 1, protocol::RetryOutlook{0, {}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("fallback"), "skip");
}

TEST(ClaudeRobustExecutor, WithItsProvidersCircuitOpenItFallsBackWithoutACall) {
  // The broker sends it so only at its last chance, and only for skip and mock_response.
  Harness h;  // nothing scripted: a call of anthropic would fail the test
  ClaudeRobustExecutor e(h.services);
  protocol::RetryOutlook outlook{0, {}};
  outlook.circuit_open = "circuit breaker for provider anthropic is open";
  auto skipped = h.run(e, "claude_robust", robust_input("skip"), 1, outlook);
  ASSERT_TRUE(skipped.ok()) << skipped.error().message;
  EXPECT_TRUE(skipped->get_bool("skipped"));
  EXPECT_EQ(skipped->get_string("original_error_code"), "circuit_open");
  EXPECT_EQ(skipped->get_string("original_error"), *outlook.circuit_open);
  auto mocked = h.run(e, "claude_robust", robust_input("mock_response"), 1, outlook);
  ASSERT_TRUE(mocked.ok()) << mocked.error().message;
  EXPECT_TRUE(mocked->get_bool("mock"));
  // simplified_prompt would call the provider the breaker says is down: the error stands.
  auto simplified = h.run(e, "claude_robust", robust_input("simplified_prompt"), 1, outlook);
  ASSERT_FALSE(simplified.ok());
  EXPECT_EQ(simplified.error().code, ErrorCode::kCircuitOpen);
}

TEST(ClaudeRobustExecutor, WhileTheBrokerWillRetryTheErrorGoesBack) {
  Harness h;
  h.anthropic->push_error(ErrorCode::kProviderError, "anthropic: 500");  // not a retry_condition
  ClaudeRobustExecutor e(h.services);
  auto r = h.run(e, "claude_robust", robust_input("skip"), 1, protocol::RetryOutlook{1, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kProviderError);
}

TEST(ClaudeRobustExecutor, AProviderWaitLongerThanTheBrokerHonoursIsTheLastChance) {
  // The broker fails an item whose provider asks to wait over max_retry_after_ms: no retry.
  Harness h;
  h.anthropic->push_error(ErrorCode::kRateLimited, "anthropic: 429", 3'600'000);
  ClaudeRobustExecutor e(h.services);
  auto r = h.run(e, "claude_robust", robust_input("skip"), 1,
                 protocol::RetryOutlook{2, {"rate_limit"}, 600'000});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("fallback"), "skip");
  EXPECT_EQ(r->get_string("original_error_code"), "rate_limit");
}

TEST(ClaudeRobustExecutor, AProviderWaitTheBrokerHonoursGoesBackForTheRetry) {
  Harness h;
  h.anthropic->push_error(ErrorCode::kRateLimited, "anthropic: 429", 30'000);
  ClaudeRobustExecutor e(h.services);
  auto r = h.run(e, "claude_robust", robust_input("skip"), 1,
                 protocol::RetryOutlook{2, {"rate_limit"}, 600'000});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(r.error().retry_after_ms, 30'000);  // for the broker to wait
}

TEST(ClaudeRobustExecutor, AnErrorTheConditionsDoNotRetryFallsBackAtOnce) {
  Harness h;
  h.anthropic->push_error(ErrorCode::kProviderError, "anthropic: 500");
  ClaudeRobustExecutor e(h.services);
  auto r = h.run(e, "claude_robust", robust_input("skip"), 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->get_bool("skipped"));
  EXPECT_EQ(r->get_string("fallback"), "skip");
}

TEST(ClaudeRobustExecutor, TheSimplifiedPromptFallbackAsksAgainBriefly) {
  Harness h;
  h.anthropic->push_error(ErrorCode::kProviderError, "anthropic: 500");
  h.anthropic->push_text("short answer");
  ClaudeRobustExecutor e(h.services);
  auto r = h.run(e, "claude_robust", robust_input("simplified_prompt"), 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "short answer");
  EXPECT_EQ(r->get_string("fallback"), "simplified_prompt");
  const auto& second = h.anthropic->requests.at(1);
  EXPECT_EQ(second.messages.at(0).text, "Answer briefly and simply.\n\ndeploy");
  EXPECT_EQ(second.max_tokens, 1024);
  EXPECT_TRUE(second.tools.empty());
}

TEST(ClaudeRobustExecutor, FailMeansTheErrorStands) {
  Harness h;
  h.anthropic->push_error(ErrorCode::kProviderError, "anthropic: 500");
  ClaudeRobustExecutor e(h.services);
  auto r = h.run(e, "claude_robust", robust_input("fail"), 3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kProviderError);
}

// ---- claude_session

TEST(ClaudeSessionExecutor, HistoryGoesToTheModelAndTheTurnIsSavedWithItsOriginAndUsage) {
  Harness h;
  h.sessions->seed("tutor", {{"user", "What is Elixir?"}, {"assistant", "A language."}});
  h.anthropic->push_text("Pattern matching binds names.", 120, 30);
  ClaudeSessionExecutor e(h.services);
  auto r = h.run(e, "claude_session", json(R"({"prompt": "And pattern matching?",
                                               "session_config": {"session_name": "tutor"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& messages = h.anthropic->requests.at(0).messages;
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].text, "What is Elixir?");
  EXPECT_EQ(messages[1].text, "A language.");
  EXPECT_EQ(messages[2].text, "And pattern matching?");
  EXPECT_TRUE(r->find("session")->get_bool("saved"));
  const Session session = h.sessions->session("tutor");
  ASSERT_EQ(session.turns.size(), 2u);
  const SessionTurn& saved = session.turns[1];
  EXPECT_EQ(saved.origin, "i1");  // the work item's id: a redelivery finds its answer by it
  ASSERT_EQ(saved.messages.size(), 2u);
  EXPECT_EQ(saved.messages[0].content.as_string(), "And pattern matching?");
  EXPECT_EQ(saved.messages[1].content.as_string(), "Pattern matching binds names.");
  EXPECT_EQ(saved.usage(), (TokenUsage{120, 30}));
  EXPECT_EQ(r->find("session")->get_int("version"), 2);
  EXPECT_EQ(r->find("session")->get_int("history_turns"), 1);  // turns, not messages
}

TEST(ClaudeSessionExecutor, ARedeliveredItemReusesItsSavedAnswerWithoutASecondCall) {
  Harness h;
  h.anthropic->push_text("first answer", 70, 7);
  ClaudeSessionExecutor e(h.services);
  const Value input = json(R"({"prompt": "hi", "session_config": {"session_name": "s"}})");
  ASSERT_TRUE(h.run(e, "claude_session", input).ok());
  // The result of attempt 1 was lost after the turn was saved (the worker died, say); another
  // writer has continued the session since.
  h.sessions->seed("s", {{"user", "someone else"}, {"assistant", "their answer"}}, "i9");
  auto again = h.run(e, "claude_session", input, 2);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(h.anthropic->requests.size(), 1u);  // not paid for twice
  EXPECT_EQ(h.sessions->appends, 1);            // not saved twice
  EXPECT_EQ(again->get_string("text"), "first answer");
  EXPECT_EQ(again->find("session")->get_int("reused_turn"), 1);
  EXPECT_EQ(again->find("usage"), nullptr) << "this attempt paid for nothing";
  // The saved turn's tokens, for the broker to count unless their attempt reported them.
  const Value* reused = again->find("reused_usage");
  ASSERT_NE(reused, nullptr);
  EXPECT_EQ(reused->get_int("input_tokens"), 70);
  EXPECT_EQ(reused->get_int("output_tokens"), 7);
  EXPECT_TRUE(reused->find("cost_usd")->is_null());  // unknown, not free
}

TEST(ClaudeSessionExecutor, AFullSessionFailsTheStepBeforeTheModelIsCalled) {
  Harness h;
  h.sessions->seed("s", {{"user", "q1"}, {"assistant", "a1"}});
  h.sessions->seed("s", {{"user", "q2"}, {"assistant", "a2"}});
  ClaudeSessionExecutor e(h.services);
  auto r = h.run(e, "claude_session", json(R"({"prompt": "q3", "session_config":
                                              {"session_name": "s", "max_turns": 2}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(r.error().message.find("session \"s\" holds 2 turns, the most the step's "
                                   "session_config.max_turns (2) allows"),
            std::string::npos)
      << r.error().message;
  EXPECT_TRUE(h.anthropic->requests.empty());
  EXPECT_EQ(h.sessions->session("s").turns.size(), 2u);
}

TEST(ClaudeSessionExecutor, TheSessionsOwnLimitCountsWhenTheStepGivesNone) {
  Harness h;
  h.sessions->limit("s", 1);
  h.sessions->seed("s", {{"user", "q1"}, {"assistant", "a1"}});
  ClaudeSessionExecutor e(h.services);
  auto r = h.run(e, "claude_session", json(R"({"prompt": "q2", "session_config":
                                              {"session_name": "s"}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(r.error().message.find("its own max_turns (1)"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("give the step a higher session_config.max_turns"),
            std::string::npos)
      << r.error().message;
  EXPECT_TRUE(h.anthropic->requests.empty());
}

TEST(ClaudeSessionExecutor, AHigherMaxTurnsOnTheStepRaisesTheSessionsOwn) {
  Harness h;
  h.sessions->limit("s", 1);
  h.sessions->seed("s", {{"user", "q1"}, {"assistant", "a1"}});
  h.anthropic->push_text("a2");
  ClaudeSessionExecutor e(h.services);
  auto r = h.run(e, "claude_session", json(R"({"prompt": "q2", "session_config":
                                              {"session_name": "s", "max_turns": 10}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(h.sessions->session("s").info.max_turns, 10);
  EXPECT_EQ(h.sessions->session("s").turns.size(), 2u);
}

TEST(ClaudeSessionExecutor, AConcurrentChangeIsAConflictThatKeepsTheCallsUsage) {
  Harness h;
  h.sessions->after_load = [&] {
    h.sessions->after_load = nullptr;
    h.sessions->seed("s", {{"user", "someone else"}});
  };
  h.anthropic->push_text("answer", 40, 4);
  ClaudeSessionExecutor e(h.services);
  auto r = h.run(e, "claude_session", json(R"({"prompt": "hi", "session_config": {"session_name": "s"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;  // a failed_result: a failure with its fields
  EXPECT_TRUE(is_failed_result(*r));
  EXPECT_EQ(r->get_string("error_code"), "conflict");
  EXPECT_NE(r->get_string("error").find("the answer was not saved"), std::string::npos);
  EXPECT_EQ(r->find("usage")->get_int("input_tokens"), 40);  // paid for: the run counts it
  EXPECT_EQ(r->find("usage")->get_int("output_tokens"), 4);
  EXPECT_FALSE(r->find("session")->get_bool("saved", true)) << "the answer was not saved";
  EXPECT_EQ(h.sessions->session("s").turns.size(), 1u);
}

TEST(ClaudeSessionExecutor, AConflictLostToThisItemsOwnSavedTurnReturnsThatAnswer) {
  Harness h;
  // The item's first attempt, redelivered while it still ran, saves its answer while this
  // attempt calls the model.
  h.sessions->before_append = [&] {
    h.sessions->before_append = nullptr;
    TurnAppend first;
    first.session = "s";
    first.create = true;
    first.origin = "i1";
    first.messages = llm::turn_messages("hi", "first answer", TokenUsage{30, 3});
    ASSERT_TRUE(h.sessions->append(first, fakes::call_within()).ok());
  };
  h.anthropic->push_text("second answer", 40, 4);
  ClaudeSessionExecutor e(h.services);
  auto r = h.run(e, "claude_session",
                 json(R"({"prompt": "hi", "session_config": {"session_name": "s"}})"), 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(is_failed_result(*r)) << r->get_string("error");
  EXPECT_EQ(r->get_string("text"), "first answer");
  EXPECT_EQ(r->find("session")->get_int("reused_turn"), 1);
  EXPECT_TRUE(r->find("session")->get_bool("saved"));
  // Both calls were paid for: this attempt's, and the first attempt's, whose result never came.
  EXPECT_EQ(r->find("usage")->get_int("input_tokens"), 40);
  EXPECT_EQ(r->find("reused_usage")->get_int("input_tokens"), 30);
  EXPECT_EQ(h.sessions->session("s").turns.size(), 1u);
}

TEST(ClaudeSessionExecutor, AResumedItemWhoseInputChangedAsksTheModelAndAddsATurn) {
  Harness h;
  h.anthropic->push_text("Paris");
  h.anthropic->push_text("Berlin");
  ClaudeSessionExecutor e(h.services);
  ASSERT_TRUE(h.run(e, "claude_session", json(R"({"prompt": "Capital of France?",
                                                  "session_config": {"session_name": "geo"}})"))
                  .ok());
  // The same item id (a resumed run keeps it), another input.
  auto r = h.run(e, "claude_session", json(R"({"prompt": "Capital of Germany?",
                                               "session_config": {"session_name": "geo"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "Berlin");
  EXPECT_EQ(r->find("session")->find("reused_turn"), nullptr);
  EXPECT_EQ(h.anthropic->requests.size(), 2u);
  const Session session = h.sessions->session("geo");
  ASSERT_EQ(session.turns.size(), 2u);  // the old turn stays as history
  EXPECT_EQ(session.turns[1].messages[0].content.as_string(), "Capital of Germany?");
  EXPECT_EQ(h.anthropic->requests[1].messages.size(), 3u);
}

TEST(ClaudeSessionExecutor, APromptThatCannotBeSavedFailsBeforeTheModelIsCalled) {
  Harness h;
  h.sessions->turn_bytes_limit = 20000;
  ClaudeSessionExecutor e(h.services);
  Value input = json(R"({"session_config": {"session_name": "big"}})");
  input["prompt"] = std::string(10000, 'x');  // fits, but not with the default answer's room
  auto r = h.run(e, "claude_session", input);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(r.error().message.find("the model was not called"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(h.anthropic->requests.empty());
  h.anthropic->push_text("short");
  input["claude_options"] = json(R"({"max_tokens": 500})");  // room enough for this answer
  auto fits = h.run(e, "claude_session", input);
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_FALSE(is_failed_result(*fits)) << fits->get_string("error");
}

TEST(ClaudeSessionExecutor, AFailedSaveKeepsTheUsageOfThePaidCall) {
  Harness h;
  h.sessions->turn_bytes_limit = 3000;
  h.anthropic->push_text(std::string(4000, 'y'), 20, 2000);  // longer than max_tokens promised
  ClaudeSessionExecutor e(h.services);
  auto r = h.run(e, "claude_session", json(R"({"prompt": "hi", "claude_options": {"max_tokens": 10},
                                               "session_config": {"session_name": "s"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(is_failed_result(*r));
  EXPECT_EQ(r->get_string("error_code"), "too_large");
  EXPECT_EQ(r->find("usage")->get_int("output_tokens"), 2000);
}

// A save without an answer may have been applied: the failure says so, and the retry uses the
// saved turn instead of paying for a second call.
TEST(ClaudeSessionExecutor, ASaveWithoutAnAnswerSaysItMayBeSavedAndTheRetryUsesIt) {
  Harness h;
  h.sessions->lose_append_replies = true;
  h.anthropic->push_text("the answer", 20, 5);
  ClaudeSessionExecutor e(h.services);
  const Value input = json(R"({"prompt": "hi", "session_config": {"session_name": "s"}})");
  auto first = h.run(e, "claude_session", input);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(is_failed_result(*first));
  EXPECT_NE(first->get_string("error").find("the turn may be saved all the same"),
            std::string::npos)
      << first->get_string("error");
  EXPECT_EQ(first->find("usage")->get_int("input_tokens"), 20);  // reported with the failure...
  EXPECT_TRUE(first->get_bool("answer_may_be_saved"));           // ...so the broker counts it once
  h.sessions->lose_append_replies = false;
  auto retried = h.run(e, "claude_session", input, 2);
  ASSERT_TRUE(retried.ok()) << retried.error().message;
  EXPECT_FALSE(is_failed_result(*retried)) << to_json(*retried);
  EXPECT_EQ(retried->get_string("text"), "the answer");
  EXPECT_EQ(h.anthropic->requests.size(), 1u) << "the model was called twice";
  EXPECT_EQ(h.sessions->session("s").turns.size(), 1u);
  EXPECT_EQ(retried->find("reused_usage")->get_int("input_tokens"), 20);
}

TEST(ClaudeSessionExecutor, HistoryIsTheNewestTurnsThatFitItsByteBudget) {
  Harness h;
  for (const char* q : {"q1", "q2", "q3"}) {
    h.sessions->seed("s", {{"user", std::string(q) + std::string(300, '.')}, {"assistant", "a"}});
  }
  h.anthropic->push_text("answer");
  ClaudeSessionExecutor e(h.services);
  auto r = h.run(e, "claude_session", json(R"({"prompt": "q4", "session_config":
                                              {"session_name": "s", "history_bytes": 900}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->find("session")->get_int("history_turns"), 2);
  const auto& messages = h.anthropic->requests.at(0).messages;
  ASSERT_EQ(messages.size(), 5u);  // q2 a q3 a q4: q1, the oldest, dropped
  EXPECT_EQ(messages[0].text.substr(0, 2), "q2");
  EXPECT_EQ(h.sessions->windows.at(0).max_bytes, 900u);
  EXPECT_EQ(h.sessions->session("s").turns.size(), 4u);
}

TEST(ClaudeSessionExecutor, AToolLoopThatEndsWithoutTextSavesNothingAndSaysWhy) {
  Harness h;
  h.anthropic->push_tool_call("search", json(R"({"query": "x"})"));
  ClaudeSessionExecutor e(h.services);
  auto r = h.run(e, "claude_session",
                 json(R"({"prompt": "use the tool", "session_config": {"session_name": "t"},
                          "claude_options": {"allowed_tools": ["search"], "max_turns": 1}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(is_failed_result(*r));
  EXPECT_EQ(r->get_string("error_code"), "step_failed");
  EXPECT_NE(r->get_string("error").find("claude_options.max_turns reached"), std::string::npos)
      << r->get_string("error");
  EXPECT_EQ(h.sessions->appends, 0);
  EXPECT_NE(r->find("usage"), nullptr);
  EXPECT_FALSE(r->find("session")->get_bool("saved", true));
}

TEST(ClaudeSessionExecutor, WithoutPersistTheSessionIsOnlyRead) {
  Harness h;
  h.sessions->seed("s", {{"user", "q1"}, {"assistant", "a1"}}, "i1");
  h.sessions->limit("s", 1);  // full, but nothing is added: the limit does not matter
  h.anthropic->push_text("answer");
  ClaudeSessionExecutor e(h.services);
  auto r = h.run(e, "claude_session",
                 json(R"({"prompt": "hi", "session_config": {"session_name": "s", "persist": false}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "answer");  // called, though a turn has this item's origin
  EXPECT_EQ(h.sessions->session("s").turns.size(), 1u);
  EXPECT_FALSE(r->find("session")->get_bool("saved"));
}

TEST(ClaudeExecutor, ASessionContextNamingNoSessionFailsNamingIt) {
  Harness h;
  ClaudeExecutor e(h.services);
  auto r = h.run(e, "claude", json(R"({"prompt": [{"type": "session_context",
                                                   "session_name": "support-chta"}]})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("no session \"support-chta\""), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(h.anthropic->requests.empty());
}

TEST(ClaudeSessionExecutor, WithoutARegistrySessionsFailClearly) {
  Harness h(Harness::Providers::kMock, Harness::Registry::kUnwired);
  ClaudeSessionExecutor e(h.services);
  auto r = h.run(e, "claude_session", json(R"({"prompt": "hi", "session_config": {"session_name": "s"}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kStepFailed);
  EXPECT_NE(r.error().message.find("sessions are not available on this worker"), std::string::npos);
}

}  // namespace
}  // namespace pl::worker
