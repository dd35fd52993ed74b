// The `usage` member of step results ({input_tokens, output_tokens, cache_*_tokens, cost_usd,
// estimated?}, as worker/llm/pricing.h writes it) added up.
#pragma once

#include <string_view>

#include "common/value.h"

namespace pl::protocol {

// `a` and `b` (usage values, either may be null) together: tokens summed, the cost known only
// when both are (an unknown cost is not a free one), estimated when either is.
Value sum_usage(const Value& a, const Value& b);

// An answer paid for in one attempt of an item and reused by a later one (a claude_session turn
// saved by the first): counted once across the attempts.
//  - kAnswerMayBeSavedKey: true in a failed result whose `usage` includes such an answer that
//    a later attempt may find saved (the save got no reply);
//  - kReusedUsageKey: in a result that reuses such an answer, its usage ({input_tokens,
//    output_tokens}, no cost), beside the attempt's own `usage`. The broker adds it to `usage`
//    unless an earlier failure of the item had kAnswerMayBeSavedKey and the same tokens (that
//    failure reported this very call), and removes it.
inline constexpr std::string_view kAnswerMayBeSavedKey = "answer_may_be_saved";
inline constexpr std::string_view kReusedUsageKey = "reused_usage";

}  // namespace pl::protocol
