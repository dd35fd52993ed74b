#include "worker/step_option.h"

#include <cmath>
#include <cstdlib>

namespace pl::worker {

std::optional<int64_t> option_integer(const Value& v) {
  if (v.is_int()) return v.as_int();
  if (v.is_double() && std::floor(v.as_double()) == v.as_double() &&
      std::fabs(v.as_double()) < 1e15) {
    return static_cast<int64_t>(v.as_double());
  }
  if (v.is_string() && !v.as_string().empty()) {
    char* end = nullptr;
    const long long n = std::strtoll(v.as_string().c_str(), &end, 10);
    if (end && *end == '\0') return static_cast<int64_t>(n);
  }
  return std::nullopt;
}

std::optional<bool> option_boolean(const Value& v) {
  if (v.is_bool()) return v.as_bool();
  if (v.is_string() && v.as_string() == "true") return true;
  if (v.is_string() && v.as_string() == "false") return false;
  return std::nullopt;
}

}  // namespace pl::worker
