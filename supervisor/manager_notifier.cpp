#include "supervisor/manager_notifier.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <string>

namespace pl::supervisor {

ManagerNotifier::ManagerNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_interval_ = std::chrono::microseconds(usec / 2);
  }
}

void ManagerNotifier::send(std::string_view state) const {
  if (!enabled_) return;
  sd_notify(0, std::string(state).c_str());
}

}  // namespace pl::supervisor
