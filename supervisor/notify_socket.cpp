#include "supervisor/notify_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace pl::supervisor {

Result<NotifySocket> NotifySocket::bind(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return make_error(ErrorCode::kInvalidInput, "notify socket path " + path + " is too long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return errno_error("socket", errno);
  const int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    return errno_error("SO_PASSCRED", errno);
  }
  const int rcvbuf = 1 << 20;  // a burst of READY/WATCHDOG from many children must not drop
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return errno_error("bind " + path, errno);
  }
  if (::chmod(path.c_str(), 0600) != 0) return errno_error("chmod 0600 " + path, errno);
  NotifySocket s;
  s.fd_ = std::move(fd);
  s.path_ = path;
  return s;
}

std::optional<NotifyDatagram> NotifySocket::receive() {
  for (;;) {
    char buf[4097];
    iovec iov{buf, sizeof buf - 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 16)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;  // EAGAIN: nothing (more) waiting
    }
    pid_t pid = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
        ucred cred;
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        pid = cred.pid;
      } else if (c->cmsg_type == SCM_RIGHTS) {
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int passed;
          std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
          ::close(passed);
        }
      }
    }
    if ((msg.msg_flags & MSG_TRUNC) || pid <= 0) continue;  // too long, or anonymous
    return NotifyDatagram{pid, std::string(buf, static_cast<size_t>(n))};
  }
}

NotifyReceived parse_notify(int64_t pid, std::string_view text) {
  NotifyReceived r;
  r.pid = pid;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (line == "READY=1") {
      r.ready = true;
    } else if (line == "WATCHDOG=1") {
      r.watchdog = true;
    } else if (line == "WATCHDOG=trigger") {
      r.watchdog_trigger = true;
    } else if (line == "STOPPING=1") {
      r.stopping = true;
    } else if (line.substr(0, 20) == "EXTEND_TIMEOUT_USEC=") {
      // Digits only, as systemd reads it; anything else is ignored rather than guessed at.
      const std::string_view digits = line.substr(20);
      int64_t us = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), us);
      if (ec == std::errc() && end == digits.data() + digits.size() && !digits.empty() && us >= 0) {
        r.extend_timeout_us = us;
      }
    } else if (line.substr(0, 7) == "STATUS=") {
      r.status = std::string(line.substr(7, 512));
    }
    start = end + 1;
  }
  return r;
}

}  // namespace pl::supervisor
