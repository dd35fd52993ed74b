// A pipe standing in for a signalfd in tests of the loops (broker, registry, worker shells):
// read_fd() goes where the loop expects its signalfd, and deliver() writes what the kernel
// would for one signal, so a test can stop a loop running on another thread.
#pragma once

#include <fcntl.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace pl::test {

class FakeSignalFd {
 public:
  FakeSignalFd() {
    if (::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~FakeSignalFd() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  FakeSignalFd(const FakeSignalFd&) = delete;
  FakeSignalFd& operator=(const FakeSignalFd&) = delete;

  bool ok() const { return fds_[0] >= 0; }
  int read_fd() const { return fds_[0]; }
  // True when the loop can read it.
  bool deliver(int signo) {
    signalfd_siginfo info{};
    info.ssi_signo = static_cast<uint32_t>(signo);
    return ::write(fds_[1], &info, sizeof info) == static_cast<ssize_t>(sizeof info);
  }

 private:
  int fds_[2] = {-1, -1};
};

}  // namespace pl::test
