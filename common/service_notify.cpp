#include "common/service_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>

namespace pl {

void notify_ready() { sd_notify(0, "READY=1"); }
void notify_stopping() { sd_notify(0, "STOPPING=1"); }
void notify_reloading() { sd_notify(0, "RELOADING=1"); }
void notify_watchdog() { sd_notify(0, "WATCHDOG=1"); }

void notify_status(std::string_view status) {
  const std::string message = "STATUS=" + std::string(status);
  sd_notify(0, message.c_str());
}

void notify_extend_timeout(std::chrono::milliseconds more) {
  const std::string message = "EXTEND_TIMEOUT_USEC=" + std::to_string(more.count() * 1000);
  sd_notify(0, message.c_str());
}

long watchdog_interval_ms() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return 0;
  return static_cast<long>(usec / 1000);
}

}  // namespace pl
