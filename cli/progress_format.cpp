#include "cli/progress_format.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace pl::cli {

std::string format_duration_s(std::optional<double> seconds) {
  if (!seconds || *seconds < 0 || !std::isfinite(*seconds)) return "-";
  char buf[32];
  const double s = *seconds;
  if (s < 1) {
    std::snprintf(buf, sizeof buf, "%.0fms", s * 1000);
    return buf;
  }
  const auto total = static_cast<int64_t>(std::llround(s));
  const int64_t d = total / 86400, h = (total / 3600) % 24, m = (total / 60) % 60, sec = total % 60;
  if (total < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(total));
  } else if (total < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(m),
                  static_cast<long long>(sec));
  } else if (total < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(h),
                  static_cast<long long>(m));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(d),
                  static_cast<long long>(h));
  }
  return buf;
}

std::string format_rate(double per_second) {
  char buf[32];
  if (!std::isfinite(per_second) || per_second < 0) return "-";
  if (per_second >= 1000) {
    std::snprintf(buf, sizeof buf, "%.1fk/s", per_second / 1000);
  } else if (per_second >= 10) {
    std::snprintf(buf, sizeof buf, "%.0f/s", per_second);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f/s", per_second);
  }
  return buf;
}

std::string format_micros(int64_t micros) {
  char buf[32];
  if (micros < 1000) {
    std::snprintf(buf, sizeof buf, "%lldus", static_cast<long long>(micros));
  } else if (micros < 10'000) {
    std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(micros) / 1000);
  } else if (micros < 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.0fms", static_cast<double>(micros) / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(micros) / 1e6);
  }
  return buf;
}

std::string format_utc(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

}  // namespace pl::cli
