#include "common/latency_histogram.h"

#include <algorithm>
#include <bit>

namespace pl {

size_t LatencyHistogram::bucket_of(int64_t micros) {
  if (micros < 8) return static_cast<size_t>(std::max<int64_t>(micros, 0));
  const auto v = static_cast<uint64_t>(micros);
  const int power = 63 - std::countl_zero(v);          // >= 3
  const uint64_t sub = (v >> (power - 3)) & 7;         // the 3 bits below the top one
  const size_t index = static_cast<size_t>(power - 2) * 8 + sub;
  return std::min(index, kBuckets - 1);
}

int64_t LatencyHistogram::bucket_upper(size_t index) {
  if (index < 8) return static_cast<int64_t>(index);
  const size_t power = index / 8 + 2;
  const uint64_t sub = index % 8;
  return static_cast<int64_t>(((8 + sub + 1) << (power - 3)) - 1);
}

void LatencyHistogram::record(int64_t micros) {
  ++buckets_[bucket_of(micros)];
  ++count_;
  sum_ += micros;
  max_ = std::max(max_, micros);
}

int64_t LatencyHistogram::percentile(double fraction) const {
  if (count_ == 0) return 0;
  const auto target = static_cast<uint64_t>(fraction * static_cast<double>(count_ - 1)) + 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= target) return std::min(bucket_upper(i), max_);
  }
  return max_;
}

void LatencyHistogram::clear() { *this = LatencyHistogram(); }

}  // namespace pl
