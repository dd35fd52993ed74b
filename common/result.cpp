#include "common/result.h"

#include <array>
#include <cstring>

namespace pl {
namespace {

struct CodeName {
  ErrorCode code;
  std::string_view name;
};

constexpr std::array<CodeName, 14> kCodeNames{{
    {ErrorCode::kRetryLater, "retry_later"},
    {ErrorCode::kUnavailable, "unavailable"},
    {ErrorCode::kTimeout, "timeout"},
    {ErrorCode::kRateLimited, "rate_limit"},
    {ErrorCode::kInvalidInput, "invalid_input"},
    {ErrorCode::kNotFound, "not_found"},
    {ErrorCode::kConflict, "conflict"},
    {ErrorCode::kTooLarge, "too_large"},
    {ErrorCode::kStepFailed, "step_failed"},
    {ErrorCode::kCancelled, "cancelled"},
    {ErrorCode::kInternal, "internal"},
    {ErrorCode::kIo, "io"},
    {ErrorCode::kProviderError, "server_error"},
    {ErrorCode::kCircuitOpen, "circuit_open"},
}};

}  // namespace

std::string_view error_code_name(ErrorCode code) {
  for (const auto& entry : kCodeNames) {
    if (entry.code == code) return entry.name;
  }
  return "internal";
}

ErrorCode error_code_from_name(std::string_view name) {
  for (const auto& entry : kCodeNames) {
    if (entry.name == name) return entry.code;
  }
  return ErrorCode::kInternal;
}

bool is_retryable(ErrorCode code) {
  const auto band = static_cast<uint16_t>(code) / 100;
  return band == 3 || (band == 5 && code != ErrorCode::kInternal);
}

bool retry_covers(const std::vector<std::string>& retry_on, ErrorCode code) {
  if (code == ErrorCode::kCancelled) return false;
  if (retry_on.empty()) return is_retryable(code);
  const std::string_view name = error_code_name(code);
  for (const std::string& r : retry_on) {
    if (r == name) return true;
  }
  return false;
}

Error Error::with_context(std::string_view context) const {
  std::string text;
  text.reserve(context.size() + 2 + message.size());
  text.append(context).append(": ").append(message);
  return Error{code, std::move(text), retry_after_ms, fields};
}

Error errno_error(std::string_view what, int err) {
  std::string text(what);
  text.append(": ").append(std::strerror(err));
  return Error{ErrorCode::kIo, std::move(text), 0, nullptr};
}

}  // namespace pl
