#include "broker/circuit_breaker.h"

#include <gtest/gtest.h>

namespace pl::broker {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreakerTest() : breaker_(BreakerSettings{3, 10s, 1}) {}
  void fail(ErrorCode code = ErrorCode::kProviderError) {
    ASSERT_TRUE(breaker_.allow(clock_.now()));
    breaker_.on_result(false, code, clock_.now());
  }
  FakeClock clock_;
  CircuitBreaker breaker_;
};

TEST_F(CircuitBreakerTest, OpensAfterTheThresholdOfConsecutiveProviderFailures) {
  fail();
  fail();
  EXPECT_EQ(breaker_.state(clock_.now()), State::kClosed);
  fail();
  EXPECT_EQ(breaker_.state(clock_.now()), State::kOpen);
  EXPECT_FALSE(breaker_.allow(clock_.now()));
}

TEST_F(CircuitBreakerTest, ASuccessResetsTheCount) {
  fail();
  fail();
  ASSERT_TRUE(breaker_.allow(clock_.now()));
  breaker_.on_result(true, ErrorCode::kInternal, clock_.now());
  fail();
  fail();
  EXPECT_EQ(breaker_.state(clock_.now()), State::kClosed);
}

TEST_F(CircuitBreakerTest, CallerMistakesDoNotCount) {
  for (int i = 0; i < 10; ++i) fail(ErrorCode::kInvalidInput);
  EXPECT_EQ(breaker_.state(clock_.now()), State::kClosed);
}

TEST_F(CircuitBreakerTest, TurnsHalfOpenAfterTheOpenPeriodAndLetsOneProbeOut) {
  fail();
  fail();
  fail();
  clock_.advance(10s);
  EXPECT_EQ(breaker_.state(clock_.now()), State::kHalfOpen);
  EXPECT_TRUE(breaker_.allow(clock_.now()));
  EXPECT_FALSE(breaker_.allow(clock_.now()));  // one probe at a time
}

TEST_F(CircuitBreakerTest, ASuccessfulProbeCloses) {
  fail();
  fail();
  fail();
  clock_.advance(10s);
  ASSERT_TRUE(breaker_.allow(clock_.now()));
  breaker_.on_result(true, ErrorCode::kInternal, clock_.now());
  EXPECT_EQ(breaker_.state(clock_.now()), State::kClosed);
  EXPECT_TRUE(breaker_.allow(clock_.now()));
}

TEST_F(CircuitBreakerTest, AFailedProbeReopensForAnotherPeriod) {
  fail();
  fail();
  fail();
  clock_.advance(10s);
  fail();
  EXPECT_EQ(breaker_.state(clock_.now()), State::kOpen);
  clock_.advance(9s);
  EXPECT_EQ(breaker_.state(clock_.now()), State::kOpen);
  EXPECT_EQ(breaker_.times_opened(), 2u);
}

TEST_F(CircuitBreakerTest, AnAbandonedProbeFreesItsPlace) {
  fail();
  fail();
  fail();
  clock_.advance(10s);
  ASSERT_TRUE(breaker_.allow(clock_.now()));
  breaker_.on_abandoned();
  EXPECT_TRUE(breaker_.allow(clock_.now()));
}

TEST(ProviderOutcome, AFallbackIsTheProvidersFailureWithItsOriginalCode) {
  Value skipped;
  skipped["success"] = true;
  skipped["fallback"] = "skip";
  skipped["original_error_code"] = "unavailable";
  const ProviderOutcome o = provider_outcome(skipped);
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.code, ErrorCode::kUnavailable);
  skipped.as_object().erase("original_error_code");
  EXPECT_FALSE(provider_outcome(skipped).success);
  EXPECT_FALSE(CircuitBreaker::counts_as_provider_failure(provider_outcome(skipped).code));
}

TEST(ProviderOutcome, OtherResultsAreWhatTheySay) {
  Value ok;
  ok["success"] = true;
  EXPECT_TRUE(provider_outcome(ok).success);
  Value failed;
  failed["success"] = false;
  failed["error_code"] = "rate_limit";
  EXPECT_FALSE(provider_outcome(failed).success);
  EXPECT_EQ(provider_outcome(failed).code, ErrorCode::kRateLimited);
}

}  // namespace
}  // namespace pl::broker
