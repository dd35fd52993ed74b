#include "common/latency_histogram.h"

#include <gtest/gtest.h>

namespace pl {
namespace {

TEST(LatencyHistogram, PercentilesAreWithinABucketOfTheTruth) {
  LatencyHistogram h;
  for (int64_t v = 1; v <= 10000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 10000u);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.5)), 5000.0, 5000 * 0.125);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.99)), 9900.0, 9900 * 0.125);
  EXPECT_EQ(h.percentile(1.0), 10000);
  EXPECT_EQ(h.max(), 10000);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int i = 0; i < 10; ++i) h.record(3);
  EXPECT_EQ(h.percentile(0.5), 3);
}

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(0.99), 0);
}

TEST(LatencyHistogram, HugeValuesLandInTheLastBucket) {
  LatencyHistogram h;
  h.record(INT64_MAX / 2);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_GT(h.percentile(0.5), 0);
}

}  // namespace
}  // namespace pl
