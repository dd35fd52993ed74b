// Our own service manager (systemd, or a test standing in for it), when NOTIFY_SOCKET is set
// in the supervisor's environment: READY=1 once the tree has started, RELOADING=1 / READY=1
// around a reload, STOPPING=1, STATUS=..., and WATCHDOG=1 every half WATCHDOG_USEC.
#pragma once

#include <optional>
#include <string_view>

#include "common/clock.h"

namespace pl::supervisor {

class ManagerNotifier {
 public:
  ManagerNotifier();
  bool enabled() const { return enabled_; }
  void send(std::string_view state) const;
  // How often to send WATCHDOG=1; nullopt when the manager set no watchdog for us.
  std::optional<Duration> watchdog_interval() const { return watchdog_interval_; }

 private:
  bool enabled_ = false;
  std::optional<Duration> watchdog_interval_;
};

}  // namespace pl::supervisor
