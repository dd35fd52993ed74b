// The `usage` member of step results ({input_tokens, output_tokens, cache_*_tokens, cost_usd,
// estimated?}, as worker/llm/pricing.h writes it) added up.
#pragma once

#include "common/value.h"

namespace pl::protocol {

// `a` and `b` (usage values, either may be null) together: tokens summed, the cost known only
// when both are (an unknown cost is not a free one), estimated when either is.
Value sum_usage(const Value& a, const Value& b);

}  // namespace pl::protocol
