// Result<T>: a value or an Error, returned by everything that can fail.
//
// Expected non-errors (EAGAIN, timeout while polling, not found in a map) are plain values
// (std::optional, bool); Result is for failures that a caller must handle or pass on.
// Exceptions never cross a Result-returning API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pl {

class Value;

// Codes come in bands, as in every protocol of ours: 3xx retry later, 4xx the caller's fault,
// 5xx ours. The numeric values travel on the wire; never renumber one.
enum class ErrorCode : uint16_t {
  kRetryLater = 300,      // busy or back-pressure: the same request may succeed later
  kUnavailable = 301,     // a peer or provider is down or unreachable
  kTimeout = 302,         // a deadline passed
  kRateLimited = 303,     // a provider said 429
  kInvalidInput = 400,    // bad config, pipeline, argument or frame
  kNotFound = 404,        // the named thing does not exist
  kConflict = 409,        // a version or state precondition failed
  kTooLarge = 413,        // over a configured size limit
  kStepFailed = 422,      // a step ran and reported failure (echo fail:, a tool's exit status)
  kCancelled = 499,       // stopped on request
  kInternal = 500,        // a bug or an invariant broken
  kIo = 501,              // the operating system refused (file, socket, process)
  kProviderError = 502,   // a provider answered with an error or something we cannot read
  kCircuitOpen = 503,     // a provider's circuit breaker is open: failing fast
};

// The name used in messages and JSON ("timeout", "invalid_input", ...).
std::string_view error_code_name(ErrorCode code);
// The inverse of error_code_name; kInternal for an unknown name.
ErrorCode error_code_from_name(std::string_view name);
// Whether a retry of the same operation can reasonably succeed (3xx and 5xx but not 4xx).
bool is_retryable(ErrorCode code);
// Whether a retry policy that names `retry_on` (error_code_name() spellings; empty: every
// retryable code) retries a failure with `code`. A cancellation never is.
bool retry_covers(const std::vector<std::string>& retry_on, ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // How long the failing side asked to be left alone before the next try (a provider's
  // Retry-After), in ms; 0 when it asked nothing. Travels to the broker as the result's
  // `retry_after_ms`.
  int64_t retry_after_ms = 0;
  // Result fields a failure still reports, as a success reports them: the usage of model calls
  // paid for before a step failed (worker/llm/spent.h). Null when none. Shared, as errors are
  // copied on their way up; with_context keeps it.
  std::shared_ptr<const Value> fields;

  // Prefixes the message with what was being done: "loading x.yaml: <message>".
  Error with_context(std::string_view context) const;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message), 0, nullptr};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok().
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

// An errno value as an Error: "what: strerror(err)".
Error errno_error(std::string_view what, int err);

}  // namespace pl
