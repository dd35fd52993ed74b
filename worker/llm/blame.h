// Keeping the provider's circuit breaker honest.
//
// The broker counts a failed item's kUnavailable, kTimeout, kProviderError and kRateLimited
// against the item's LLM provider. When such an error comes from something else a step uses
// (the registry's sessions or tools, a file), it must not open the provider's breaker: it is
// reported as kRetryLater (still retryable, not counted) with the original code's name in the
// message.
#pragma once

#include <string_view>

#include "common/result.h"

namespace pl::worker::llm {

// `error` with "context: " in front and, when its code is one the breaker counts, kRetryLater.
Error not_the_providers_fault(const Error& error, std::string_view context);

}  // namespace pl::worker::llm
