// The one datagram socket on which every child speaks systemd's notify protocol
// (READY=1, WATCHDOG=1, STATUS=..., STOPPING=1), as NOTIFY_SOCKET in its environment.
// Senders are identified by the kernel (SCM_CREDENTIALS), never by what they claim.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "supervisor/core_io.h"
#include "supervisor/unique_fd.h"

namespace pl::supervisor {

struct NotifyDatagram {
  pid_t pid = 0;  // the sender, from its credentials
  std::string text;
};

class NotifySocket {
 public:
  // Binds a Unix datagram socket at `path` (a stale file there is replaced), mode 0600,
  // non-blocking, with SO_PASSCRED.
  static Result<NotifySocket> bind(const std::string& path);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  // One waiting datagram; nullopt when none is. Datagrams without credentials or too long
  // (over 4 KiB) are dropped; descriptors passed along are closed.
  std::optional<NotifyDatagram> receive();

 private:
  UniqueFd fd_;
  std::string path_;
};

// READY=1, WATCHDOG=1, WATCHDOG=trigger, STOPPING=1, STATUS=... out of one datagram's lines;
// other assignments are ignored. Pure.
NotifyReceived parse_notify(int64_t pid, std::string_view text);

}  // namespace pl::supervisor
