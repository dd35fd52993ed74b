// The clock seam. Cores take a `now` argument; shells read it from a Clock chosen in main().
#pragma once

#include <chrono>
#include <cstdint>

namespace pl {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Duration = SteadyClock::duration;
using WallTime = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;

// Both readings of one moment, for cores that need a deadline and a timestamp alike.
struct Instant {
  TimePoint steady;
  WallTime wall;
};

class Clock {
 public:
  virtual ~Clock() = default;
  Instant instant() const { return Instant{now(), wall_now()}; }
  // Monotonic time: for deadlines, windows and durations.
  virtual TimePoint now() const = 0;
  // Calendar time: for events and records people read.
  virtual WallTime wall_now() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return SteadyClock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
};

// A clock that moves only when told to. Starts at an arbitrary fixed point.
class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  WallTime wall_now() const override { return wall_; }
  void advance(Duration d) {
    now_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }

 private:
  TimePoint now_{std::chrono::hours(1)};
  WallTime wall_{std::chrono::seconds(1'700'000'000)};
};

// Milliseconds since the Unix epoch, the unit of every timestamp on the wire and in stores.
inline int64_t unix_millis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Milliseconds from now until deadline, clamped at 0: what a poll timeout wants.
inline int64_t millis_until(TimePoint deadline, TimePoint now) {
  if (deadline <= now) return 0;
  // Round up, so that a poll never wakes a hair before the deadline and spins.
  return std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
}

}  // namespace pl
