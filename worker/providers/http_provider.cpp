#include "worker/providers/http_provider.h"

#include <spdlog/spdlog.h>

#include <random>
#include <thread>

namespace pl::worker::providers {

RetryEffects RetryEffects::real(const Clock& clock) {
  RetryEffects e;
  e.clock = &clock;
  e.pause = [](Duration d, const CallContext& call) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(d);
    if (call.cancel) return !call.cancel->wait_for(ms);
    std::this_thread::sleep_for(ms);
    return true;
  };
  e.random01 = [] {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
  return e;
}

ErrorCode error_code_for_status(long status) {
  if (status == 429) return ErrorCode::kRateLimited;
  if (status == 408) return ErrorCode::kTimeout;
  if (status >= 300 && status < 500) return ErrorCode::kInvalidInput;
  return ErrorCode::kProviderError;
}

namespace {

// A 3xx: redirects are not followed (a key must not travel to wherever one points), so the
// base_url is wrong, which a retry will not change.
Error redirect_error(std::string_view provider, const std::string& url,
                     const HttpResponse& response) {
  const std::string* location = response.header("location");
  const std::string where = location && !location->empty()
                                ? "a redirect to " + body_excerpt(*location, 300)
                                : "a redirect without a Location";
  return make_error(ErrorCode::kInvalidInput,
                    std::string(provider) + ": " + std::to_string(response.status) + " from " +
                        url + ": " + where + ", which is not followed; check the provider's " +
                        "base_url (providers." + std::string(provider) +
                        ".base_url, or the variable its base_url_env names)");
}

}  // namespace

HttpProvider::HttpProvider(std::unique_ptr<WireFormat> wire, HttpProviderSettings settings,
                           HttpClient& http, RetryEffects effects)
    : wire_(std::move(wire)), settings_(std::move(settings)), http_(http), effects_(std::move(effects)) {}

Error HttpProvider::status_error(const HttpRequest& request, const HttpResponse& response,
                                 const std::string& why_not, std::optional<Duration> hint) const {
  if (response.status >= 300 && response.status < 400) {
    return redirect_error(name(), request.url, response);
  }
  std::string message = std::string(name()) + ": " + std::to_string(response.status) + " " +
                        wire_->error_detail(response.body);
  if (!why_not.empty()) message += " (" + why_not + ")";
  if (wire_->quota_exhausted(response.status, response.body)) {
    // Billing, not pace: invalid_input, like a bad key, is neither retried nor held against the
    // provider's circuit breaker.
    return make_error(ErrorCode::kInvalidInput,
                      message +
                          " (the account's quota is exhausted: add credits or raise its "
                          "spend limit; retrying cannot help)");
  }
  Error e = make_error(error_code_for_status(response.status), std::move(message));
  // Not waited here (too long, or no time left): the broker waits it before the next attempt.
  if (hint && is_retryable_status(response.status)) {
    e.retry_after_ms = std::chrono::ceil<std::chrono::milliseconds>(*hint).count();
  }
  return e;
}

Result<Completion> HttpProvider::complete(const CompletionRequest& request, const CallContext& call) {
  const std::string provider(name());
  auto url = wire_->url(settings_.endpoint, request);
  if (!url.ok()) return std::move(url).error();
  HttpRequest http_request;
  http_request.url = std::move(*url);
  http_request.headers = wire_->headers(settings_.endpoint);
  http_request.body = wire_->encode(settings_.endpoint, request);
  http_request.cancel = call.cancel;
  http_request.connect_timeout = settings_.connect_timeout;
  http_request.stall_timeout = settings_.stall_timeout;
  http_request.max_response_bytes = settings_.max_response_bytes;

  for (int retries = 0;; ++retries) {
    if (call.cancelled()) return make_error(ErrorCode::kCancelled, provider + ": cancelled");
    const TimePoint now = effects_.clock->now();
    if (now >= call.deadline) {
      return make_error(ErrorCode::kTimeout, provider + ": the step's deadline passed" +
                                                 (retries ? " while retrying" : ""));
    }
    http_request.deadline = std::min(call.deadline, now + settings_.request_timeout);
    auto response = http_.send(http_request);
    if (!response.ok()) {
      Error e = std::move(response).error();
      return make_error(e.code, provider + ": " + e.message);
    }
    if (response->status >= 200 && response->status < 300) {
      auto completion = wire_->decode(response->body, request);
      if (completion.ok()) return completion;
      auto billed = wire_->billed(response->body, request);
      return billed ? with_spent(std::move(completion).error(), *billed)
                    : std::move(completion).error();
    }
    if (wire_->quota_exhausted(response->status, response->body)) {
      return status_error(http_request, *response, "", std::nullopt);
    }
    std::optional<Duration> hint;
    if (const std::string* after = response->header("retry-after")) {
      hint = parse_retry_after(*after, effects_.clock->wall_now());
    }
    if (!hint) hint = wire_->retry_hint(response->body);
    const TimePoint after_send = effects_.clock->now();
    const Duration time_left = call.deadline > after_send ? call.deadline - after_send : Duration::zero();
    const RetryDecision decision =
        decide_retry(response->status, hint, retries, time_left, settings_.retry, effects_.random01());
    if (!decision.retry) return status_error(http_request, *response, decision.why_not, hint);
    spdlog::warn("{}: HTTP {}; retrying in {} ms", provider, response->status,
                 std::chrono::ceil<std::chrono::milliseconds>(decision.wait).count());
    if (!effects_.pause(decision.wait, call)) {
      return make_error(ErrorCode::kCancelled, provider + ": cancelled");
    }
  }
}

}  // namespace pl::worker::providers
