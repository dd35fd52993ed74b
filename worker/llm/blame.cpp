#include "worker/llm/blame.h"

#include <string>

namespace pl::worker::llm {

Error not_the_providers_fault(const Error& error, std::string_view context) {
  Error out = error.with_context(context);
  switch (error.code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
    case ErrorCode::kProviderError:
    case ErrorCode::kRateLimited:
      out.code = ErrorCode::kRetryLater;
      out.message += " [" + std::string(error_code_name(error.code)) + "]";
      break;
    default:
      break;
  }
  return out;
}

}  // namespace pl::worker::llm
