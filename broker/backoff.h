// Retry delays: fixed, linear or exponential from a base, capped, with "equal jitter" on the
// exponential kind (half the delay fixed, half random) so that many items failing together do
// not retry together, and none retries at once.
#pragma once

#include <cstdint>
#include <optional>

#include "broker/work_spec.h"

namespace pl::broker {

// The delay before retry number `failures` (1 after the first failure). `unit_random` is a
// number in [0, 1) from the caller's generator, so the function stays pure.
int64_t retry_delay_ms(const RetrySettings& retry, uint32_t failures, double unit_random);

// Whether an error with this code may be retried under `retry`.
bool may_retry(const RetrySettings& retry, ErrorCode code);

// The delay before the next attempt when the failed one says how long its provider asked to be
// left alone (`requested_ms`, the result's retry_after_ms; 0 when it asked nothing): the longer
// of retry_delay_ms() and the request, even past retry.max_delay_ms, since an earlier attempt
// would only be refused again. nullopt when the request exceeds `max_requested_ms`: then the
// item is not retried at all (the provider will not take it back within a reasonable wait).
std::optional<int64_t> next_attempt_delay_ms(const RetrySettings& retry, uint32_t failures,
                                             double unit_random, int64_t requested_ms,
                                             int64_t max_requested_ms);

}  // namespace pl::broker
