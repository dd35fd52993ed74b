// Retry delays: fixed, linear or exponential from a base, capped, with "equal jitter" on the
// exponential kind (half the delay fixed, half random) so that many items failing together do
// not retry together, and none retries at once.
#pragma once

#include <cstdint>

#include "broker/work_spec.h"

namespace pl::broker {

// The delay before retry number `failures` (1 after the first failure). `unit_random` is a
// number in [0, 1) from the caller's generator, so the function stays pure.
int64_t retry_delay_ms(const RetrySettings& retry, uint32_t failures, double unit_random);

// Whether an error with this code may be retried under `retry`.
bool may_retry(const RetrySettings& retry, ErrorCode code);

}  // namespace pl::broker
