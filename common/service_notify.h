// The systemd notify protocol, spoken to whoever set NOTIFY_SOCKET: systemd for the
// supervisor, the supervisor for its children. Without NOTIFY_SOCKET every call does nothing.
#pragma once

#include <chrono>
#include <string_view>

namespace pl {

void notify_ready();
void notify_stopping();
void notify_reloading();
void notify_watchdog();
void notify_status(std::string_view status);
// EXTEND_TIMEOUT_USEC: asks for `more` time, from now, before the next message is due (while
// starting: to become ready).
void notify_extend_timeout(std::chrono::milliseconds more);
// The watchdog interval asked for through WATCHDOG_USEC, in ms; 0 when none.
long watchdog_interval_ms();

}  // namespace pl
