// Retry delays and which failures a step's `retry` retries.
#include "broker/backoff.h"

#include <gtest/gtest.h>

namespace pl::broker {
namespace {

RetrySettings with(BackoffKind kind, int64_t base, int64_t cap) {
  RetrySettings retry;
  retry.max_attempts = 10;
  retry.backoff = kind;
  retry.base_delay_ms = base;
  retry.max_delay_ms = cap;
  return retry;
}

TEST(Backoff, FixedWaitsTheBaseEveryTime) {
  const RetrySettings retry = with(BackoffKind::kFixed, 200, 1000);
  for (uint32_t failures : {1u, 2u, 7u}) EXPECT_EQ(retry_delay_ms(retry, failures, 0.9), 200);
}

TEST(Backoff, LinearGrowsByTheBaseUpToTheCap) {
  const RetrySettings retry = with(BackoffKind::kLinear, 200, 700);
  EXPECT_EQ(retry_delay_ms(retry, 1, 0.5), 200);
  EXPECT_EQ(retry_delay_ms(retry, 3, 0.5), 600);
  EXPECT_EQ(retry_delay_ms(retry, 4, 0.5), 700);
}

TEST(Backoff, ExponentialDoublesWithHalfOfItRandomAndNeverPassesTheCap) {
  const RetrySettings retry = with(BackoffKind::kExponential, 100, 1000);
  // failures 1, 2, 3: 100, 200, 400 before jitter; half of each is fixed.
  EXPECT_EQ(retry_delay_ms(retry, 1, 0.0), 50);
  EXPECT_EQ(retry_delay_ms(retry, 1, 0.999), 99);
  EXPECT_EQ(retry_delay_ms(retry, 3, 0.0), 200);
  EXPECT_EQ(retry_delay_ms(retry, 3, 0.5), 300);
  // Far past the cap (and past what 2^n can hold): the cap, half of it fixed.
  EXPECT_EQ(retry_delay_ms(retry, 10, 0.0), 500);
  EXPECT_EQ(retry_delay_ms(retry, 4000000000u, 0.999), 999);
}

TEST(Backoff, TheNextAttemptWaitsAtLeastWhatTheProviderAskedEvenPastTheCap) {
  const RetrySettings retry = with(BackoffKind::kFixed, 200, 1000);
  EXPECT_EQ(next_attempt_delay_ms(retry, 1, 0.5, 0, 600000), 200);          // asked nothing
  EXPECT_EQ(next_attempt_delay_ms(retry, 1, 0.5, 100, 600000), 200);        // backoff is longer
  EXPECT_EQ(next_attempt_delay_ms(retry, 1, 0.5, 120000, 600000), 120000);  // past max_delay_ms
  EXPECT_EQ(next_attempt_delay_ms(retry, 1, 0.5, 600000, 600000), 600000);
}

TEST(Backoff, AWaitLongerThanTheBrokerHonoursMeansNoRetry) {
  const RetrySettings retry = with(BackoffKind::kFixed, 200, 1000);
  EXPECT_FALSE(next_attempt_delay_ms(retry, 1, 0.5, 600001, 600000));
}

TEST(Backoff, ARetryWithoutRetryOnRetriesOnlyFailuresThatMayPassOnTheirOwn) {
  const RetrySettings retry = with(BackoffKind::kFixed, 1, 1);
  for (ErrorCode code : {ErrorCode::kTimeout, ErrorCode::kRateLimited, ErrorCode::kProviderError,
                         ErrorCode::kUnavailable, ErrorCode::kRetryLater, ErrorCode::kCircuitOpen,
                         ErrorCode::kIo}) {
    EXPECT_TRUE(may_retry(retry, code)) << error_code_name(code);
  }
  for (ErrorCode code : {ErrorCode::kStepFailed, ErrorCode::kInvalidInput, ErrorCode::kInternal,
                         ErrorCode::kCancelled, ErrorCode::kConflict}) {
    EXPECT_FALSE(may_retry(retry, code)) << error_code_name(code);
  }
}

TEST(Backoff, RetryOnRetriesExactlyWhatItNamesButNeverACancellation) {
  RetrySettings retry = with(BackoffKind::kFixed, 1, 1);
  retry.retry_on = {"step_failed", "timeout"};
  EXPECT_TRUE(may_retry(retry, ErrorCode::kStepFailed));
  EXPECT_TRUE(may_retry(retry, ErrorCode::kTimeout));
  EXPECT_FALSE(may_retry(retry, ErrorCode::kRateLimited));
  retry.retry_on = {"conflict"};  // a session another step continued: read it again
  EXPECT_TRUE(may_retry(retry, ErrorCode::kConflict));
  retry.retry_on = {"cancelled"};
  EXPECT_FALSE(may_retry(retry, ErrorCode::kCancelled));
}

}  // namespace
}  // namespace pl::broker
