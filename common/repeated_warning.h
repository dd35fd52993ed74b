// A condition that may recur every turn of a loop (a broker that does not answer, a queue that
// is full), logged without flooding the log: said when it starts, then at most once per
// interval with how long it has lasted and how often it happened meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace pl {

class RepeatedWarning {
 public:
  enum class Say { kFirst, kQuiet, kSummary };

  explicit RepeatedWarning(Duration interval) : interval_(interval) {}

  // Counts one more time it happened: kFirst when the condition starts, kSummary when a
  // summary is due (then times() and lasted() say what to put in it), else kQuiet.
  Say happened(TimePoint now) {
    if (times_++ == 0) {
      since_ = now;
      next_ = now + interval_;
      return Say::kFirst;
    }
    if (now < next_) return Say::kQuiet;
    next_ = now + interval_;
    return Say::kSummary;
  }
  // happened(), logged: `line` as a warning when the condition starts and as a debug line while
  // it is quiet, and the text `summary` makes (lasted_seconds(), times()) as a warning when due.
  void log(TimePoint now, std::string_view line, const std::function<std::string()>& summary);

  // The condition is over (the next time starts it again).
  void clear() { times_ = 0; }

  bool active() const { return times_ > 0; }
  // How often it happened since it started, the first time included.
  int64_t times() const { return times_; }
  int64_t lasted_seconds(TimePoint now) const {
    return std::chrono::duration_cast<std::chrono::seconds>(now - since_).count();
  }

 private:
  Duration interval_;
  int64_t times_ = 0;
  TimePoint since_{};
  TimePoint next_{};
};

}  // namespace pl
