// When a provider call that got an HTTP error may be sent again within the same attempt, and
// after how long. Pure: the clock readings and the random draw are arguments.
//
// Retried: 408, 429 and every 5xx except 501 and 505 (which will not change). The wait is the
// provider's own hint when it gives one (Retry-After in seconds or as an HTTP date, or a hint
// from the body such as Gemini's RetryInfo), else exponential backoff with jitter:
// base * 2^retry, capped at max_delay, then drawn uniformly from [half, all] of that. No retry
// when max_retries are spent, when the hint is longer than max_retry_after, or when the wait
// would not leave `min_time_for_call` before the deadline: the error then goes back to the
// broker, whose own retry policy and circuit breaker decide what comes next.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace pl::worker::providers {

struct RetrySettings {
  int max_retries = 2;  // further sends after the first, within one attempt
  Duration base_delay = std::chrono::milliseconds(500);
  Duration max_delay = std::chrono::seconds(20);
  Duration max_retry_after = std::chrono::seconds(60);
  Duration min_time_for_call = std::chrono::milliseconds(200);
};

bool is_retryable_status(long status);

// A Retry-After value: delta-seconds ("30", "1.5" is taken as 1.5 s) or an HTTP date
// ("Wed, 21 Oct 2015 07:28:00 GMT", measured from `now`; a date in the past is 0). nullopt when
// it is neither.
std::optional<Duration> parse_retry_after(std::string_view value, WallTime now);

// A duration written as Google's "30s" / "1.5s" (protobuf Duration in JSON); nullopt otherwise.
std::optional<Duration> parse_seconds_suffix(std::string_view value);

// The jittered exponential backoff before retry number `retry` (0 for the first retry).
// REQUIRES: 0 <= random01 < 1.
Duration backoff_delay(int retry, const RetrySettings& settings, double random01);

struct RetryDecision {
  bool retry = false;
  Duration wait{};
  std::string why_not;  // when !retry and the status was retryable: for the error message
};

// `retries_done`: sends after the first so far. `hint`: the provider's wait, if it gave one.
RetryDecision decide_retry(long status, std::optional<Duration> hint, int retries_done,
                           Duration time_left, const RetrySettings& settings, double random01);

}  // namespace pl::worker::providers
