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
  if (status >= 400 && status < 500) return ErrorCode::kInvalidInput;
  return ErrorCode::kProviderError;
}

HttpProvider::HttpProvider(std::unique_ptr<WireFormat> wire, HttpProviderSettings settings,
                           HttpClient& http, RetryEffects effects)
    : wire_(std::move(wire)), settings_(std::move(settings)), http_(http), effects_(std::move(effects)) {}

Error HttpProvider::status_error(const HttpResponse& response, const std::string& why_not,
                                 std::optional<Duration> hint) const {
  std::string message = std::string(name()) + ": " + std::to_string(response.status) + " " +
                        wire_->error_detail(response.body);
  if (!why_not.empty()) message += " (" + why_not + ")";
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
      return wire_->decode(response->body, request);
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
    if (!decision.retry) return status_error(*response, decision.why_not, hint);
    spdlog::warn("{}: HTTP {}; retrying in {} ms", provider, response->status,
                 std::chrono::ceil<std::chrono::milliseconds>(decision.wait).count());
    if (!effects_.pause(decision.wait, call)) {
      return make_error(ErrorCode::kCancelled, provider + ": cancelled");
    }
  }
}

}  // namespace pl::worker::providers
