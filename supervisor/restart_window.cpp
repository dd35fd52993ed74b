#include "supervisor/restart_window.h"

namespace pl::supervisor {

bool RestartWindow::add(TimePoint now) {
  times_.push_back(now);
  // A restart exactly `period` ago is still inside the window (OTP compares with =<).
  while (!times_.empty() && now - times_.front() > period_) times_.pop_front();
  return static_cast<int64_t>(times_.size()) <= intensity_;
}

void RestartWindow::set_limits(int64_t intensity, Duration period) {
  intensity_ = intensity;
  period_ = period;
}

}  // namespace pl::supervisor
