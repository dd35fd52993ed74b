#include "common/repeated_warning.h"

#include <spdlog/spdlog.h>

namespace pl {

void RepeatedWarning::log(TimePoint now, std::string_view line,
                          const std::function<std::string()>& summary) {
  switch (happened(now)) {
    case Say::kFirst:
      spdlog::warn("{}", line);
      break;
    case Say::kQuiet:
      spdlog::debug("{}", line);
      break;
    case Say::kSummary:
      spdlog::warn("{}", summary());
      break;
  }
}

}  // namespace pl
