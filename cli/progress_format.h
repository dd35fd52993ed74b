// Short human forms of durations, rates, sizes and times, for progress lines, `pipelinectl top`
// and the other commands' listings.
// Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pl::cli {

// "850ms", "12s", "3m05s", "2h10m", "4d03h"; "-" for a negative or absent value.
std::string format_duration_s(std::optional<double> seconds);
// "0.8/s", "12/s", "1.2k/s".
std::string format_rate(double per_second);
// Microseconds as "850us", "12ms", "1.2s".
std::string format_micros(int64_t micros);
// Unix milliseconds as the UTC time people read: "2024-05-01 12:00:00Z".
std::string format_utc(int64_t unix_ms);

}  // namespace pl::cli
