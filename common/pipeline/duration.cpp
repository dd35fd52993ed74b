#include "common/pipeline/duration.h"

#include <cmath>
#include <cstdlib>

namespace pl::pipeline {
namespace {

Error bad(const std::string& what) {
  return make_error(ErrorCode::kInvalidInput,
                    what +
                        "; a duration is a number of seconds (30, 1.5) or a string with a unit "
                        "(\"250ms\", \"30s\", \"5m\", \"1h\")");
}

}  // namespace

Result<int64_t> parse_duration_ms(const Value& v) {
  double ms = 0;
  if (v.is_number()) {
    ms = v.as_double() * 1000.0;
  } else if (v.is_string()) {
    const std::string& s = v.as_string();
    size_t unit = s.find_first_not_of("0123456789.");
    if (unit == 0 || unit == std::string::npos) return bad("\"" + s + "\" has no unit");
    std::string number = s.substr(0, unit);
    std::string suffix = s.substr(unit);
    char* end = nullptr;
    double amount = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size()) return bad("\"" + s + "\" is not a duration");
    double scale = 0;
    if (suffix == "ms") {
      scale = 1;
    } else if (suffix == "s") {
      scale = 1000;
    } else if (suffix == "m" || suffix == "min") {
      scale = 60 * 1000;
    } else if (suffix == "h") {
      scale = 3600 * 1000;
    } else {
      return bad("\"" + s + "\" has an unknown unit \"" + suffix + "\"");
    }
    ms = amount * scale;
  } else {
    return bad("got " + a_kind(v.kind()));
  }
  if (!std::isfinite(ms)) return bad("a duration must be a finite number");
  if (ms < 1) return bad("a duration must be positive");
  if (ms > static_cast<double>(kMaxDurationMs)) {
    return make_error(ErrorCode::kInvalidInput, "a duration may be at most 7 days");
  }
  return static_cast<int64_t>(std::llround(ms));
}

}  // namespace pl::pipeline
