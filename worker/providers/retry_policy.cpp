#include "worker/providers/retry_policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>

namespace pl::worker::providers {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A non-negative decimal number of seconds ("30", "1.5"); nullopt otherwise.
std::optional<Duration> decimal_seconds(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  double whole = 0;
  double scale = 0;  // 0 before the point; 0.1, 0.01, ... after it
  bool digits = false;
  for (char c : s) {
    if (c == '.' && scale == 0) {
      scale = 0.1;
    } else if (c >= '0' && c <= '9') {
      digits = true;
      if (scale == 0) {
        whole = whole * 10 + (c - '0');
      } else {
        whole += (c - '0') * scale;
        scale /= 10;
      }
    } else {
      return std::nullopt;
    }
  }
  if (!digits || whole > 1e9) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(whole));
}

// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the form HTTP/1.1 servers must send.
std::optional<WallTime> http_date(std::string_view s) {
  std::tm tm{};
  const std::string text(s);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const time_t t = ::timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

}  // namespace

bool is_retryable_status(long status) {
  if (status == 408 || status == 429) return true;
  return status >= 500 && status <= 599 && status != 501 && status != 505;
}

std::optional<Duration> parse_retry_after(std::string_view value, WallTime now) {
  value = trim(value);
  if (auto seconds = decimal_seconds(value)) return seconds;
  if (auto when = http_date(value)) {
    if (*when <= now) return Duration::zero();
    return std::chrono::duration_cast<Duration>(*when - now);
  }
  return std::nullopt;
}

std::optional<Duration> parse_seconds_suffix(std::string_view value) {
  value = trim(value);
  if (value.size() < 2 || value.back() != 's') return std::nullopt;
  return decimal_seconds(value.substr(0, value.size() - 1));
}

Duration backoff_delay(int retry, const RetrySettings& settings, double random01) {
  const double base = std::chrono::duration<double>(settings.base_delay).count();
  const double cap = std::chrono::duration<double>(settings.max_delay).count();
  const double full = std::min(cap, base * std::pow(2.0, std::clamp(retry, 0, 30)));
  const double jittered = full / 2 + full / 2 * std::clamp(random01, 0.0, 1.0);
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(jittered));
}

RetryDecision decide_retry(long status, std::optional<Duration> hint, int retries_done,
                           Duration time_left, const RetrySettings& settings, double random01) {
  RetryDecision d;
  if (!is_retryable_status(status)) return d;
  if (retries_done >= settings.max_retries) {
    d.why_not = "after " + std::to_string(retries_done) + " retries";
    return d;
  }
  if (hint && *hint > settings.max_retry_after) {
    d.why_not = "the provider asks to wait " +
                std::to_string(std::chrono::ceil<std::chrono::seconds>(*hint).count()) + " s";
    return d;
  }
  const Duration wait = hint ? *hint : backoff_delay(retries_done, settings, random01);
  if (wait + settings.min_time_for_call > time_left) {
    d.why_not = "no time left to wait " +
                std::to_string(std::chrono::ceil<std::chrono::milliseconds>(wait).count()) +
                " ms and retry";
    return d;
  }
  d.retry = true;
  d.wait = wait;
  return d;
}

}  // namespace pl::worker::providers
