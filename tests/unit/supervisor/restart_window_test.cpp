#include <gtest/gtest.h>

#include "supervisor/restart_backoff.h"
#include "supervisor/restart_window.h"

namespace pl::supervisor {
namespace {

using std::chrono::seconds;

TEST(RestartWindow, AllowsIntensityRestartsWithinThePeriod) {
  RestartWindow w(2, seconds(5));
  const TimePoint t0{seconds(100)};
  EXPECT_TRUE(w.add(t0));
  EXPECT_TRUE(w.add(t0 + seconds(1)));
  EXPECT_FALSE(w.add(t0 + seconds(2)));
}

TEST(RestartWindow, SlidesOldRestartsOut) {
  RestartWindow w(1, seconds(5));
  const TimePoint t0{seconds(100)};
  EXPECT_TRUE(w.add(t0));
  EXPECT_TRUE(w.add(t0 + seconds(6)));
  EXPECT_FALSE(w.add(t0 + seconds(7)));
}

TEST(RestartWindow, ARestartExactlyOnePeriodAgoStillCounts) {
  RestartWindow w(1, seconds(5));
  const TimePoint t0{seconds(100)};
  EXPECT_TRUE(w.add(t0));
  EXPECT_FALSE(w.add(t0 + seconds(5)));
}

TEST(RestartWindow, ZeroIntensityRefusesTheFirstRestart) {
  RestartWindow w(0, seconds(5));
  EXPECT_FALSE(w.add(TimePoint{seconds(1)}));
}

TEST(RestartBackoff, IsOffByDefault) {
  RestartBackoff b;
  EXPECT_EQ(b.next_delay(BackoffSpec{}, TimePoint{}, TimePoint{seconds(1)}, 0.0), Duration::zero());
}

TEST(RestartBackoff, DoublesUpToTheCapAndJittersDownByAtMostHalf) {
  RestartBackoff b;
  const BackoffSpec spec{100, 350, 60000};
  const TimePoint t{seconds(1)};
  EXPECT_EQ(b.next_delay(spec, t, t, 0.0), milliseconds(100));
  EXPECT_EQ(b.next_delay(spec, t, t, 0.0), milliseconds(200));
  EXPECT_EQ(b.next_delay(spec, t, t, 0.0), milliseconds(350));
  EXPECT_EQ(b.next_delay(spec, t, t, 0.5), milliseconds(263));
}

TEST(RestartBackoff, ResetsAfterAStableRun) {
  RestartBackoff b;
  const BackoffSpec spec{100, 1000, 5000};
  const TimePoint t{seconds(1)};
  b.next_delay(spec, t, t, 0.0);
  b.next_delay(spec, t, t, 0.0);
  EXPECT_EQ(b.next_delay(spec, t, t + seconds(5), 0.0), milliseconds(100));
}

}  // namespace
}  // namespace pl::supervisor
