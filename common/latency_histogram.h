// Latencies in log-linear buckets (8 per power of two: values are kept within 12.5 %), for
// percentiles in metrics and benchmarks without keeping every sample. Not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pl {

class LatencyHistogram {
 public:
  void record(int64_t micros);
  uint64_t count() const { return count_; }
  // The latency below which `fraction` (0..1) of the samples fall, in microseconds; 0 when empty.
  int64_t percentile(double fraction) const;
  int64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
  void clear();

  // Bucket upper bounds and counts, for Prometheus-style export.
  static constexpr size_t kBuckets = 8 * 40;
  static int64_t bucket_upper(size_t index);
  uint64_t bucket_count(size_t index) const { return buckets_[index]; }

 private:
  static size_t bucket_of(int64_t micros);
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t max_ = 0;
};

}  // namespace pl
