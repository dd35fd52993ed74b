#include "common/repeated_warning.h"

#include <gtest/gtest.h>

namespace pl {
namespace {

using namespace std::chrono_literals;
using Say = RepeatedWarning::Say;

TEST(RepeatedWarning, SaidWhenItStartsThenOncePerIntervalThenAgainAfterItEnds) {
  RepeatedWarning w(60s);
  const TimePoint t0{};
  EXPECT_EQ(w.happened(t0), Say::kFirst);
  EXPECT_EQ(w.happened(t0 + 1s), Say::kQuiet);
  EXPECT_EQ(w.happened(t0 + 59s), Say::kQuiet);
  EXPECT_EQ(w.happened(t0 + 60s), Say::kSummary);
  EXPECT_EQ(w.times(), 4);
  EXPECT_EQ(w.lasted_seconds(t0 + 60s), 60);
  EXPECT_EQ(w.happened(t0 + 61s), Say::kQuiet);  // the next summary is a minute after this one
  EXPECT_EQ(w.happened(t0 + 120s), Say::kSummary);
  w.clear();
  EXPECT_FALSE(w.active());
  EXPECT_EQ(w.happened(t0 + 121s), Say::kFirst);
  EXPECT_EQ(w.lasted_seconds(t0 + 131s), 10);
}

}  // namespace
}  // namespace pl
