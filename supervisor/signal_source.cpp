#include "supervisor/signal_source.h"

#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>

namespace pl::supervisor {

Result<SignalSource> SignalSource::open(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return errno_error("sigprocmask", errno);
  const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return errno_error("signalfd", errno);
  SignalSource source;
  source.fd_.reset(fd);
  return source;
}

std::vector<int> SignalSource::take() {
  std::vector<int> out;
  for (;;) {
    signalfd_siginfo info;
    const ssize_t n = ::read(fd_.get(), &info, sizeof info);
    if (n != static_cast<ssize_t>(sizeof info)) {
      if (n < 0 && errno == EINTR) continue;
      return out;
    }
    out.push_back(static_cast<int>(info.ssi_signo));
  }
}

}  // namespace pl::supervisor
