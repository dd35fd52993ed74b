#include <gtest/gtest.h>

#include "common/json.h"
#include "worker/llm/call_spec.h"
#include "worker/llm/gemini_functions.h"
#include "worker/llm/presets.h"
#include "worker/llm/robust.h"
#include "worker/llm/session_history.h"

namespace pl::worker::llm {
namespace {

Value json(const char* text) { return *parse_json(text); }

// A failed call, its provider asking to be left alone for `retry_after_ms` (0: nothing asked).
Error failure(ErrorCode code, int64_t retry_after_ms = 0) {
  Error e = make_error(code, "failed");
  e.retry_after_ms = retry_after_ms;
  return e;
}

TEST(CallSpec, ClaudeOptionsBecomeTheCall) {
  auto s = claude_call_spec(json(R"({"model": "sonnet", "system_prompt": "Be kind.", "append_system_prompt": "Be brief.",
      "max_turns": 3, "allowed_tools": ["search"], "max_tokens": "500", "temperature": 0.2,
      "mcp_servers": {"ignored": true}})"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->provider, "anthropic");
  EXPECT_EQ(s->model, "sonnet");
  EXPECT_EQ(s->system, "Be kind.\n\nBe brief.");
  EXPECT_EQ(s->max_turns, 3);
  EXPECT_EQ(s->allowed_tools, std::vector<std::string>{"search"});
  EXPECT_EQ(s->max_tokens, 500);  // a rendered template arrives as text
  EXPECT_DOUBLE_EQ(*s->temperature, 0.2);
}

TEST(CallSpec, MistypedOptionsNameTheKey) {
  auto s = claude_call_spec(json(R"({"max_tokens": [1]})"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "claude_options.max_tokens: expected an integer, got a list");
  auto t = claude_call_spec(json(R"({"max_turns": 0})"));
  EXPECT_EQ(t.error().message, "claude_options.max_turns: must be at least 1");
  auto u = llm_call_spec(json(R"({"temperature": "warm"})"), "openai");
  EXPECT_EQ(u.error().message, "temperature: expected a number, got a string");
}

TEST(CallSpec, GeminiReadsTheTokenBudget) {
  auto s = gemini_call_spec(json(R"({"model": "gemini-2.5-pro", "token_budget":
      {"max_output_tokens": 2048, "temperature": 0.7, "top_p": 0.9, "top_k": 40}})"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->provider, "gemini");
  EXPECT_EQ(s->max_tokens, 2048);
  EXPECT_EQ(s->top_k, 40);
  EXPECT_DOUBLE_EQ(*s->top_p, 0.9);
}

TEST(CallSpec, AnLlmStepWithoutAProviderUsesTheDefault) {
  auto s = llm_call_spec(json(R"({"model": "llama3", "max_turns": 2, "allowed_tools": "search"})"), "openai");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->provider, "openai");
  EXPECT_EQ(s->allowed_tools, std::vector<std::string>{"search"});
  EXPECT_EQ(llm_call_spec(json(R"({"provider": "gemini"})"), "openai")->provider, "gemini");
}

TEST(Presets, FillWhatTheStepLeavesUnset) {
  auto o = apply_preset(json(R"({"max_turns": 2})"), "analysis");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->get_int("max_turns"), 2);
  EXPECT_EQ(o->get_int("max_tokens"), 8192);
  EXPECT_NE(o->get_string("system_prompt").find("code analysis expert"), std::string::npos);
  EXPECT_FALSE(o->find("allowed_tools"));
}

TEST(Presets, EveryPresetOfTheFormatExists) {
  for (const char* name : {"development", "production", "analysis", "chat", "test"}) {
    EXPECT_TRUE(find_preset(name)) << name;
  }
  auto bad = apply_preset(Value(), "prod");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("known: development, production"), std::string::npos);
}

TEST(Robust, ConfigMapsConditionsToErrorCodes) {
  auto c = read_robust_config(json(R"({"max_retries": 2, "retry_conditions": ["api_error", "network_error"],
                                       "fallback_action": "simplified_prompt"})"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_retries, 2);
  EXPECT_EQ(c->retry_on, (std::vector<ErrorCode>{ErrorCode::kProviderError, ErrorCode::kUnavailable}));
  EXPECT_EQ(c->fallback, FallbackAction::kSimplifiedPrompt);
  EXPECT_FALSE(read_robust_config(json(R"({"fallback_action": "graceful_degradation"})")).ok());
  EXPECT_FALSE(read_robust_config(json(R"({"retry_conditions": ["cosmic_rays"]})")).ok());
}

TEST(Robust, FallsBackOnlyWhenTheBrokerWillNotRetry) {
  RobustConfig c;
  c.max_retries = 2;
  c.retry_on = {ErrorCode::kRateLimited};
  EXPECT_FALSE(should_fall_back(failure(ErrorCode::kRateLimited), 1, c));  // 2 and 3 follow
  EXPECT_FALSE(should_fall_back(failure(ErrorCode::kRateLimited), 2, c));
  EXPECT_TRUE(should_fall_back(failure(ErrorCode::kRateLimited), 3, c));    // the last attempt
  EXPECT_TRUE(should_fall_back(failure(ErrorCode::kProviderError), 1, c));  // not a condition
  EXPECT_FALSE(should_fall_back(failure(ErrorCode::kCancelled), 3, c));
}

TEST(Robust, WhatTheBrokerSaysItWillDoDecidesOverRetryConfig) {
  RobustConfig c;               // retry_config: 3 retries of every retryable error
  protocol::RetryOutlook none;  // the step's `retry` allows no retry
  EXPECT_TRUE(should_fall_back(failure(ErrorCode::kRateLimited), 1, c, &none));
  protocol::RetryOutlook timeouts{2, {"timeout"}};
  EXPECT_TRUE(should_fall_back(failure(ErrorCode::kRateLimited), 1, c, &timeouts));  // not retried
  EXPECT_FALSE(should_fall_back(failure(ErrorCode::kTimeout), 1, c, &timeouts));
  EXPECT_FALSE(should_fall_back(failure(ErrorCode::kCancelled), 1, c, &none));
}

TEST(Robust, AProviderWaitLongerThanTheBrokerHonoursFallsBack) {
  RobustConfig c;
  const protocol::RetryOutlook retries{2, {}, 600000};  // broker.max_retry_after_ms: 10 min
  EXPECT_TRUE(should_fall_back(failure(ErrorCode::kRateLimited, 600001), 1, c, &retries));
  EXPECT_FALSE(should_fall_back(failure(ErrorCode::kRateLimited, 600000), 1, c, &retries));
  EXPECT_FALSE(should_fall_back(failure(ErrorCode::kRateLimited), 1, c, &retries));
  const protocol::RetryOutlook unsaid{2, {}};  // an older broker: no limit known
  EXPECT_FALSE(should_fall_back(failure(ErrorCode::kRateLimited, 600001), 1, c, &unsaid));
}

TEST(Robust, WithoutConditionsEveryRetryableErrorIsRetried) {
  RobustConfig c;
  c.max_retries = 1;
  EXPECT_FALSE(should_fall_back(failure(ErrorCode::kTimeout), 1, c));
  EXPECT_TRUE(should_fall_back(failure(ErrorCode::kInvalidInput), 1, c));
  EXPECT_TRUE(should_fall_back(failure(ErrorCode::kTimeout), 2, c));
}

TEST(Robust, TheSimplifiedPromptIsShortAndSaysSo) {
  const std::string p = simplified_prompt(std::string(5000, 'x'));
  EXPECT_EQ(p.rfind("Answer briefly and simply.\n\n", 0), 0u);
  EXPECT_EQ(p.size(), 28u + 2000u);
}

TEST(Sessions, SettingsNeedAName) {
  const SessionDefaults d{50, 4096};
  EXPECT_FALSE(read_session_settings(Value(), d).ok());
  EXPECT_FALSE(read_session_settings(json(R"({"persist": true})"), d).ok());
  auto s = read_session_settings(json(R"({"session_name": "tutor", "persist": false})"), d);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->persist);
  EXPECT_EQ(s->max_turns, 0);  // no limit of the step's own
  EXPECT_EQ(s->history_turns, 50);
  EXPECT_EQ(s->history_bytes, 4096);
}

TEST(Sessions, MaxTurnsIsTheLimitAndTheHistorySent) {
  auto s = read_session_settings(json(R"({"session_name": "t", "max_turns": 8,
                                          "history_bytes": 1000})"),
                                 SessionDefaults{50, 4096});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->max_turns, 8);
  EXPECT_EQ(s->history_turns, 8);
  EXPECT_EQ(s->history_bytes, 1000);
  for (const char* bad : {R"({"session_name": "t", "max_turns": 0})",
                          R"({"session_name": "t", "max_turns": "many"})"}) {
    auto r = read_session_settings(json(bad), SessionDefaults{});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message.rfind("session_config.max_turns: expected an integer of at least "
                                      "1, got ", 0),
              0u)
        << r.error().message;
  }
}

TEST(Sessions, NumbersAndBooleansRenderedFromTemplatesAreAccepted) {
  auto s = read_session_settings(json(R"({"session_name": "t", "max_turns": "3",
                                          "persist": "false", "history_bytes": "2048"})"),
                                 SessionDefaults{});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->max_turns, 3);
  EXPECT_FALSE(s->persist);
  EXPECT_EQ(s->history_bytes, 2048);
  auto bad = read_session_settings(json(R"({"session_name": "t", "persist": "yes"})"),
                                   SessionDefaults{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "session_config.persist: expected true or false, got \"yes\"");
}

TEST(Sessions, HistoryAlternatesAndStartsWithTheUser) {
  auto message = [](const char* role, const char* text) {
    return SessionMessage{role, Value(text), std::nullopt, 0};
  };
  const auto m = history_messages({message("assistant", "orphan"), message("user", "q1"),
                                   message("user", "q1 again"), message("system", "ignored"),
                                   message("assistant", ""), message("assistant", "a1")});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].role, providers::Role::kUser);
  EXPECT_EQ(m[0].text, "q1\n\nq1 again");
  EXPECT_EQ(m[1].role, providers::Role::kAssistant);
  EXPECT_EQ(m[1].text, "a1");
}

TEST(Sessions, HistoryEndsWithAnAnswerSoThePromptAlternates) {
  auto message = [](const char* role, const char* text) {
    return SessionMessage{role, Value(text), std::nullopt, 0};
  };
  // A turn saved with an empty answer (a tool loop that ran out of calls) ends the history.
  const auto m = history_messages({message("user", "q1"), message("assistant", "a1"),
                                   message("user", "q2"), message("assistant", "")});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.back().role, providers::Role::kAssistant);
  EXPECT_EQ(m.back().text, "a1");
}

TEST(Sessions, APromptTooLargeForATurnIsRefusedWithTheReserveNamed) {
  SessionSettings s;
  s.name = "big";
  EXPECT_FALSE(turn_too_large(s, std::string(500, 'x'), 100, 1000));
  EXPECT_FALSE(turn_too_large(s, std::string(5000, 'x'), 100, 0));  // limit unknown: no check
  auto refused = turn_too_large(s, std::string(500, 'x'), 600, 1000);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, ErrorCode::kTooLarge);
  EXPECT_NE(refused->message.find("with 600 kept for the answer, over the registry's "
                                  "max_turn_bytes of 1000; the model was not called"),
            std::string::npos)
      << refused->message;
}

TEST(GeminiFunctions, NamedFunctionsComeFromTheirDefinitions) {
  auto f = declared_functions(json(R"({"functions": ["rate"], "function_definitions": {
      "rate": {"description": "rate code", "parameters": {"type": "object", "properties": {"score": {"type": "integer"}}}},
      "unused": {"description": "x"}}})"));
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ((*f)[0].name, "rate");
  EXPECT_EQ((*f)[0].description, "rate code");
}

TEST(GeminiFunctions, ANamedFunctionWithoutADefinitionIsInvalid) {
  auto f = declared_functions(json(R"({"functions": ["ghost"]})"));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("\"ghost\" has no definition"), std::string::npos);
}

}  // namespace
}  // namespace pl::worker::llm
