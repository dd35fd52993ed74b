// OTP's restart intensity: a supervisor may restart at most `intensity` times within any
// `period`; one more and it gives up. A sliding window of restart times, as supervisor.erl's
// add_restart/3: restarts older than `period` fall out of the window.
// Pure: the caller passes the time.
#pragma once

#include <cstdint>
#include <deque>

#include "common/clock.h"

namespace pl::supervisor {

class RestartWindow {
 public:
  RestartWindow(int64_t intensity, Duration period) : intensity_(intensity), period_(period) {}

  // Records a restart at `now`. Returns false when that makes more than `intensity` restarts
  // within the last `period`: the supervisor must give up. (With intensity 0, the first
  // restart is already one too many.)
  bool add(TimePoint now);

  // Restarts currently in the window.
  size_t size() const { return times_.size(); }
  void reset() { times_.clear(); }
  // New limits; the recorded restarts are kept (a reload changes limits, not history).
  void set_limits(int64_t intensity, Duration period);

 private:
  int64_t intensity_;
  Duration period_;
  std::deque<TimePoint> times_;
};

}  // namespace pl::supervisor
