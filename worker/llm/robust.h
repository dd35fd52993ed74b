// claude_robust: what to do when its call fails. Pure.
//
// The broker retries a claude_robust item by the policy the loader derived from retry_config
// (max_retries + 1 attempts, backoff_strategy, base_delay_ms, retry_conditions mapped to error
// codes: timeout -> timeout, rate_limit -> rate_limit, api_error and server_error ->
// server_error, network_error and unavailable -> unavailable; no conditions: every retryable
// code), or by the step's own `retry` when it has one. So the executor makes one call per
// attempt and, when it fails, applies `fallback_action` only when no retry will follow, as the
// work item's RetryOutlook tells (whichever policy the broker runs): the error is not one the
// broker retries, no attempt is left, or the provider asks to wait longer than the broker's
// max_retry_after_ms. Otherwise it returns the error and the broker tries again. A cancelled
// call never falls back.
//
// fallback_action:
//   fail               the error stands (the default)
//   skip               success with skipped: true and no text
//   mock_response      the mock provider answers the same prompt (mock: true in the result)
//   simplified_prompt  one more call to the same provider: no tools, one turn, at most 1024
//                      output tokens, and the prompt cut to 2000 characters under "Answer
//                      briefly and simply."
// Every fallback result says `fallback: <action>` and `original_error: <message>`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/protocol/work.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::worker::llm {

enum class FallbackAction { kFail, kSkip, kMockResponse, kSimplifiedPrompt };

struct RobustConfig {
  int64_t max_retries = 3;              // the loader's default
  std::vector<ErrorCode> retry_on;      // empty: every retryable code
  FallbackAction fallback = FallbackAction::kFail;
};

// Reads retry_config (null = defaults). kInvalidInput for an unknown condition or action.
Result<RobustConfig> read_robust_config(const Value& retry_config);

// Whether a failed attempt number `attempt` (from 1) with `error` falls back now: when no retry
// will follow. `broker`: what the work item says the broker will do; the broker's policy may be
// the step's own `retry`, not the one derived from retry_config, and the broker retries no
// error whose retry_after_ms (a provider's Retry-After) is over its max_retry_after_ms. nullptr
// (a broker that does not say): retry_config's max_retries and retry_conditions stand in.
bool should_fall_back(const Error& error, uint32_t attempt, const RobustConfig& config,
                      const protocol::RetryOutlook* broker = nullptr);

std::string_view fallback_name(FallbackAction action);

// The prompt for simplified_prompt.
std::string simplified_prompt(std::string_view prompt);

}  // namespace pl::worker::llm
