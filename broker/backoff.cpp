#include "broker/backoff.h"

#include <algorithm>
#include <cmath>

namespace pl::broker {

int64_t retry_delay_ms(const RetrySettings& retry, uint32_t failures, double unit_random) {
  const double base = static_cast<double>(std::max<int64_t>(retry.base_delay_ms, 0));
  const double cap = static_cast<double>(std::max<int64_t>(retry.max_delay_ms, 0));
  const double n = static_cast<double>(std::max<uint32_t>(failures, 1));
  double delay = base;
  switch (retry.backoff) {
    case BackoffKind::kFixed:
      delay = base;
      break;
    case BackoffKind::kLinear:
      delay = base * n;
      break;
    case BackoffKind::kExponential:
      // Half fixed, half random ("equal jitter"): never retries at once, never in lock step.
      delay = std::min(cap, base * std::pow(2.0, std::min(n - 1, 40.0)));
      delay = delay / 2 + delay / 2 * unit_random;
      break;
  }
  return static_cast<int64_t>(std::min(delay, cap));
}

std::optional<int64_t> next_attempt_delay_ms(const RetrySettings& retry, uint32_t failures,
                                             double unit_random, int64_t requested_ms,
                                             int64_t max_requested_ms) {
  if (requested_ms > max_requested_ms) return std::nullopt;
  return std::max(retry_delay_ms(retry, failures, unit_random), requested_ms);
}

bool may_retry(const RetrySettings& retry, ErrorCode code) {
  return retry_covers(retry.retry_on, code);
}

}  // namespace pl::broker
