#include "supervisor/tree_guard.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace pl::supervisor {
namespace {

constexpr int kMaxGroups = 4096;

// The guard's whole life. Async-signal-safe only: no allocation, no locks, no stdio.
[[noreturn]] void guard_main(int read_fd) {
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  ::setpgid(0, 0);
  ::prctl(PR_SET_NAME, "pl-guard", 0, 0, 0);
  ::dup2(read_fd, STDIN_FILENO);
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
  }
  ::close_range(3, ~0U, 0);  // the pipe's write end included: only the supervisor holds it

  pid_t groups[kMaxGroups];
  int count = 0;
  char op = 0;
  long value = 0;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the supervisor is gone (or closed us on purpose)
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buf[i];
      if (c == '+' || c == '-') {
        op = c;
        value = 0;
      } else if (c >= '0' && c <= '9') {
        value = value * 10 + (c - '0');
      } else if (c == '\n' && value > 1) {
        const pid_t g = static_cast<pid_t>(value);
        if (op == '+' && count < kMaxGroups) {
          groups[count++] = g;
        } else if (op == '-') {
          for (int k = 0; k < count; ++k) {
            if (groups[k] == g) {
              groups[k] = groups[--count];
              break;
            }
          }
        }
        op = 0;
        value = 0;
      }
    }
  }
  for (int k = 0; k < count; ++k) ::kill(-groups[k], SIGKILL);
  ::_exit(0);
}

// "+123\n": one line of the pipe's protocol; returns its length.
int format_line(char (&line)[24], char op, pid_t pgid) {
  return std::snprintf(line, sizeof line, "%c%d\n", op, static_cast<int>(pgid));
}

}  // namespace

Result<TreeGuard> TreeGuard::start(const std::vector<pid_t>& groups) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe for the guard", errno);
  // The groups go into the pipe before the guard exists, so that it holds them from its first
  // instruction: a supervisor killed right after the fork still leaves nothing behind. The whole
  // list (kMaxGroups lines of at most 12 bytes) fits a 64 KiB pipe; a smaller one (a user over
  // pipe-user-pages-soft gets 4 KiB) takes what fits without blocking, and watch() sends the
  // rest once the guard reads.
  const size_t known = std::min(groups.size(), static_cast<size_t>(kMaxGroups));
  // Without a non-blocking write end (fcntl failed), nothing is pre-filled: watch() sends all.
  size_t filled = 0;
  if (::fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0) {
    for (; filled < known; ++filled) {
      char line[24];
      const int n = format_line(line, '+', groups[filled]);
      if (::write(fds[1], line, static_cast<size_t>(n)) != n) break;  // full (a line is atomic)
    }
    if (::fcntl(fds[1], F_SETFL, 0) != 0) {
      // A non-blocking pipe would drop later watch() lines when full: failing as a failed fork
      // does is better than a guard that silently misses groups.
      const int err = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      return errno_error("making the guard's pipe blocking again", err);
    }
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return errno_error("fork the guard", err);
  }
  if (pid == 0) guard_main(fds[0]);
  ::close(fds[0]);
  ::setpgid(pid, pid);
  TreeGuard guard;
  guard.pid_ = pid;
  guard.pipe_.reset(fds[1]);
  for (size_t i = filled; i < known; ++i) guard.watch(groups[i]);
  return guard;
}

TreeGuard::~TreeGuard() { stop(); }

void TreeGuard::send(char op, pid_t pgid) {
  if (!pipe_) return;
  char line[24];
  const int n = format_line(line, op, pgid);
  // A few bytes on a pipe nobody else writes: atomic. EPIPE means the guard died; the
  // supervisor notices that through SIGCHLD and starts another.
  while (::write(pipe_.get(), line, static_cast<size_t>(n)) < 0 && errno == EINTR) {
  }
}

void TreeGuard::watch(pid_t pgid) { send('+', pgid); }
void TreeGuard::unwatch(pid_t pgid) { send('-', pgid); }

void TreeGuard::stop() {
  pipe_.reset();
  if (pid_ > 0) {
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

}  // namespace pl::supervisor
