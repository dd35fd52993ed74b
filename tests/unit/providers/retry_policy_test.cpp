#include "worker/providers/retry_policy.h"

#include <gtest/gtest.h>

namespace pl::worker::providers {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const WallTime kNow = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT

TEST(RetryAfter, DeltaSecondsAreADuration) {
  EXPECT_EQ(parse_retry_after("30", kNow), Duration(seconds(30)));
  EXPECT_EQ(parse_retry_after(" 0 ", kNow), Duration::zero());
}

TEST(RetryAfter, FractionalSecondsAreHonoured) {
  EXPECT_EQ(parse_retry_after("1.5", kNow), Duration(milliseconds(1500)));
}

TEST(RetryAfter, AnHttpDateIsMeasuredFromNow) {
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", kNow), Duration(seconds(10)));
}

TEST(RetryAfter, AnHttpDateInThePastMeansNow) {
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", kNow), Duration::zero());
}

TEST(RetryAfter, GarbageIsNoHint) {
  EXPECT_FALSE(parse_retry_after("soon", kNow));
  EXPECT_FALSE(parse_retry_after("", kNow));
  EXPECT_FALSE(parse_retry_after("-5", kNow));
  EXPECT_FALSE(parse_retry_after("1e9999", kNow));
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:10", kNow));
}

TEST(RetryAfter, GoogleDurationsEndInS) {
  EXPECT_EQ(parse_seconds_suffix("30s"), Duration(seconds(30)));
  EXPECT_EQ(parse_seconds_suffix("0.25s"), Duration(milliseconds(250)));
  EXPECT_FALSE(parse_seconds_suffix("30"));
  EXPECT_FALSE(parse_seconds_suffix("s"));
}

TEST(Backoff, DoublesPerRetryWithinHalfToAllOfTheStep) {
  RetrySettings s;
  s.base_delay = milliseconds(100);
  s.max_delay = seconds(10);
  EXPECT_EQ(backoff_delay(0, s, 0.0), Duration(milliseconds(50)));
  EXPECT_EQ(std::chrono::round<milliseconds>(backoff_delay(0, s, 0.999999)), milliseconds(100));
  EXPECT_EQ(backoff_delay(3, s, 0.0), Duration(milliseconds(400)));
}

TEST(Backoff, IsCappedAtMaxDelay) {
  RetrySettings s;
  s.base_delay = milliseconds(100);
  s.max_delay = seconds(1);
  EXPECT_LE(backoff_delay(40, s, 0.999), Duration(seconds(1)));
}

TEST(RetryDecision, OnlyTimeoutsRateLimitsAndServerErrorsAreRetried) {
  RetrySettings s;
  for (long status : {400L, 401L, 403L, 404L, 422L, 501L, 505L}) {
    EXPECT_FALSE(decide_retry(status, std::nullopt, 0, seconds(60), s, 0.5).retry) << status;
  }
  for (long status : {408L, 429L, 500L, 502L, 503L, 504L, 529L}) {
    EXPECT_TRUE(decide_retry(status, std::nullopt, 0, seconds(60), s, 0.5).retry) << status;
  }
}

TEST(RetryDecision, TheProvidersHintIsTheWait) {
  RetrySettings s;
  const RetryDecision d = decide_retry(429, Duration(seconds(3)), 0, seconds(60), s, 0.5);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.wait, Duration(seconds(3)));
}

TEST(RetryDecision, StopsWhenRetriesAreSpent) {
  RetrySettings s;
  s.max_retries = 2;
  const RetryDecision d = decide_retry(503, std::nullopt, 2, seconds(60), s, 0.5);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.why_not, "after 2 retries");
}

TEST(RetryDecision, AHintLongerThanTheLimitGoesBackToTheBroker) {
  RetrySettings s;
  s.max_retry_after = seconds(60);
  const RetryDecision d = decide_retry(429, Duration(seconds(120)), 0, seconds(600), s, 0.5);
  EXPECT_FALSE(d.retry);
  EXPECT_NE(d.why_not.find("120 s"), std::string::npos);
}

TEST(RetryDecision, NeverWaitsPastTheDeadline) {
  RetrySettings s;
  const RetryDecision d = decide_retry(429, Duration(seconds(5)), 0, seconds(4), s, 0.5);
  EXPECT_FALSE(d.retry);
  EXPECT_NE(d.why_not.find("no time left"), std::string::npos);
}

}  // namespace
}  // namespace pl::worker::providers
