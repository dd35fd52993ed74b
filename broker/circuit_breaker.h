// A circuit breaker for one provider, shared by every worker because it lives in the broker.
//
//   closed     items go out; `failure_threshold` consecutive provider failures open it
//   open       items fail fast with circuit_open; after `open_ms` it turns half-open
//   half_open  at most `half_open_probes` items go out; a success closes it, a failure opens it
//              again for another `open_ms`
//
// Only failures that say the provider is in trouble count (unavailable, timeout, server_error,
// rate_limit); a bad prompt is the caller's fault and leaves the breaker alone. A claude_robust
// fallback result is a success for the run but a failure of the provider (see
// provider_outcome()): otherwise skip or mock_response answers would keep the breaker closed
// through an outage. Pure: the caller passes the time in.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::broker {

struct BreakerSettings {
  uint32_t failure_threshold = 5;
  Duration open_for = std::chrono::seconds(30);
  uint32_t half_open_probes = 1;
};

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  explicit CircuitBreaker(BreakerSettings settings = {}) : settings_(settings) {}

  // Whether an item may go out now; when it may and the breaker is half-open, the item counts
  // as a probe until on_result() hears of it.
  bool allow(TimePoint now);
  // The outcome of an item that allow() let out.
  void on_result(bool success, ErrorCode code, TimePoint now);
  // An item let out by allow() will never report (cancelled, its worker died).
  void on_abandoned();

  State state(TimePoint now) const;
  uint32_t consecutive_failures() const { return consecutive_failures_; }
  TimePoint reopens_at() const { return opened_at_ + settings_.open_for; }
  uint64_t times_opened() const { return times_opened_; }

  // Whether an error code counts against a provider.
  static bool counts_as_provider_failure(ErrorCode code);

 private:
  void open(TimePoint now);

  BreakerSettings settings_;
  bool open_ = false;
  TimePoint opened_at_{};
  uint32_t consecutive_failures_ = 0;
  uint32_t probes_out_ = 0;
  uint64_t times_opened_ = 0;
};

std::string_view breaker_state_name(CircuitBreaker::State state);

// What an item's result ({success, error_code, fallback, original_error_code, ...}) says about
// the provider that served it, for CircuitBreaker::on_result().
struct ProviderOutcome {
  bool success = false;
  ErrorCode code = ErrorCode::kInternal;
};
// A result with `fallback` is the provider's failure with `original_error_code` (kInternal,
// which the breaker ignores, when the worker sent none); otherwise `success` and `error_code`.
ProviderOutcome provider_outcome(const Value& result);

}  // namespace pl::broker
