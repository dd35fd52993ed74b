// A Provider that speaks one HTTP API (a WireFormat) through an HttpClient.
//
// One complete() is one attempt of a step: it sends the request and, on a retryable status
// (408, 429, 5xx), waits and sends again as RetryPolicy decides, honouring Retry-After, never
// past the call's deadline and waking at once on cancel. Each exchange is further bounded by
// `request_timeout`. Errors name the provider, the status and the provider's own message:
//   "anthropic: 429 rate_limit_error: Number of requests exceeded (after 2 retries)"
// and carry the code the broker's retry policy and circuit breaker read:
//   429 -> kRateLimited, 408 -> kTimeout, 5xx and unreadable bodies -> kProviderError,
//   other 4xx -> kInvalidInput, transport errors keep the HttpClient's code (kUnavailable,
//   kTimeout, kCancelled, kTooLarge).
// Two answers are the configuration's fault, not the provider's, and are kInvalidInput, sent
// once: a 3xx (redirects are not followed, so the base_url is wrong: http for https, a missing
// /v1; the message names the Location), and an account out of quota
// (WireFormat::quota_exhausted(), OpenAI's 429 insufficient_quota), which no wait will cure.
// The API key is sent in a header and appears in no message and no log line.
#pragma once

#include <functional>
#include <memory>

#include "common/clock.h"
#include "worker/providers/http_client.h"
#include "worker/providers/provider.h"
#include "worker/providers/retry_policy.h"
#include "worker/providers/wire_format.h"

namespace pl::worker::providers {

struct HttpProviderSettings {
  Endpoint endpoint;
  RetrySettings retry;
  Duration request_timeout = std::chrono::minutes(10);  // one exchange; the deadline also bounds it
  Duration connect_timeout = std::chrono::seconds(10);
  Duration stall_timeout = std::chrono::seconds(60);
  size_t max_response_bytes = 32 * 1024 * 1024;
};

// The effects of waiting between retries, as a seam: tests pass a fake clock and a pause that
// advances it.
struct RetryEffects {
  const Clock* clock = nullptr;
  // Waits `d` unless the call is cancelled first; false when cancelled.
  std::function<bool(Duration d, const CallContext& call)> pause;
  // A uniform draw from [0, 1), for jitter.
  std::function<double()> random01;

  // The real clock, a pause on the call's CancelToken, and a per-thread random engine.
  static RetryEffects real(const Clock& clock);
};

class HttpProvider final : public Provider {
 public:
  // `http` and the clock in `effects` are borrowed and must outlive the provider.
  HttpProvider(std::unique_ptr<WireFormat> wire, HttpProviderSettings settings, HttpClient& http,
               RetryEffects effects);

  std::string_view name() const override { return wire_->provider_name(); }
  Result<Completion> complete(const CompletionRequest& request, const CallContext& call) override;

  const HttpProviderSettings& settings() const { return settings_; }

 private:
  // `hint`: the wait the provider asked for, carried as Error::retry_after_ms.
  Error status_error(const HttpRequest& request, const HttpResponse& response,
                     const std::string& why_not, std::optional<Duration> hint) const;

  std::unique_ptr<WireFormat> wire_;
  HttpProviderSettings settings_;
  HttpClient& http_;
  RetryEffects effects_;
};

// The ErrorCode for an HTTP status that is an error (see the table above), by status alone.
ErrorCode error_code_for_status(long status);

}  // namespace pl::worker::providers
