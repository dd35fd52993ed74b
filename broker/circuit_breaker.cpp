#include "broker/circuit_breaker.h"

namespace pl::broker {

bool CircuitBreaker::counts_as_provider_failure(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout ||
         code == ErrorCode::kProviderError || code == ErrorCode::kRateLimited;
}

CircuitBreaker::State CircuitBreaker::state(TimePoint now) const {
  if (!open_) return State::kClosed;
  return now < reopens_at() ? State::kOpen : State::kHalfOpen;
}

bool CircuitBreaker::allow(TimePoint now) {
  switch (state(now)) {
    case State::kClosed:
      return true;
    case State::kOpen:
      return false;
    case State::kHalfOpen:
      if (probes_out_ >= settings_.half_open_probes) return false;
      ++probes_out_;
      return true;
  }
  return false;
}

void CircuitBreaker::on_result(bool success, ErrorCode code, TimePoint now) {
  if (probes_out_ > 0) --probes_out_;
  if (success) {
    consecutive_failures_ = 0;
    open_ = false;
    return;
  }
  if (!counts_as_provider_failure(code)) return;
  ++consecutive_failures_;
  // A failed probe reopens at once; a closed breaker opens at the threshold.
  if (open_ || consecutive_failures_ >= settings_.failure_threshold) open(now);
}

void CircuitBreaker::on_abandoned() {
  if (probes_out_ > 0) --probes_out_;
}

void CircuitBreaker::open(TimePoint now) {
  if (!open_ || now >= reopens_at()) ++times_opened_;
  open_ = true;
  opened_at_ = now;
  probes_out_ = 0;
}

ProviderOutcome provider_outcome(const Value& result) {
  if (result.find("fallback")) {
    return {false, error_code_from_name(result.get_string("original_error_code", "internal"))};
  }
  if (result.get_bool("success")) return {true, ErrorCode::kInternal};
  return {false, error_code_from_name(result.get_string("error_code", "internal"))};
}

std::string_view breaker_state_name(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

}  // namespace pl::broker
