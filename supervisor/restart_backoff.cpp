#include "supervisor/restart_backoff.h"

#include <algorithm>

namespace pl::supervisor {

Duration RestartBackoff::next_delay(const BackoffSpec& spec, TimePoint started, TimePoint exited,
                                    double unit_random) {
  if (!spec.enabled()) return Duration::zero();
  if (exited - started >= milliseconds(spec.reset_after_ms)) failures_ = 0;
  ++failures_;
  const int shift = std::min(failures_ - 1, 30);
  const int64_t cap = std::max(spec.max_ms, spec.initial_ms);
  const int64_t base = std::min<int64_t>(cap, spec.initial_ms << shift);
  const auto jitter = static_cast<int64_t>(static_cast<double>(base) * 0.5 *
                                            std::clamp(unit_random, 0.0, 1.0));
  return milliseconds(base - jitter);
}

}  // namespace pl::supervisor
