// Per-child restart delay: exponential, jittered, reset after a stable run. Separate from
// intensity counting (a delayed restart still counts as one restart).
// Pure: the caller passes times and a random draw.
#pragma once

#include <cstdint>

#include "common/clock.h"
#include "supervisor/child_spec.h"

namespace pl::supervisor {

class RestartBackoff {
 public:
  // The delay before the next restart of a child that ran from `started` until `exited`.
  // Zero when backoff is off. `unit_random` is a draw in [0, 1): the jitter takes the delay
  // down by up to half, so that many children failing together do not restart in lockstep.
  Duration next_delay(const BackoffSpec& spec, TimePoint started, TimePoint exited,
                      double unit_random);

  // Consecutive restarts counted so far (0 after a stable run).
  int failures() const { return failures_; }
  void reset() { failures_ = 0; }

 private:
  int failures_ = 0;
};

}  // namespace pl::supervisor
