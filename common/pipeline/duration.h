// Durations as pipeline files write them.
//
// A number is SECONDS (30, 1.5); a string carries its unit: "250ms", "30s", "5m", "1h".
// Durations must be positive and at most kMaxDurationMs (7 days): a step never waits forever.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "common/value.h"

namespace pl::pipeline {

inline constexpr int64_t kMaxDurationMs = int64_t{7} * 24 * 3600 * 1000;

// Milliseconds, or an error (kInvalidInput) that says what a duration looks like.
[[nodiscard]] Result<int64_t> parse_duration_ms(const Value& v);

}  // namespace pl::pipeline
