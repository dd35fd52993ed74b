// pipeline-test-child: a configurable child for supervisor tests and benchmarks.
//
//   --ready                 send READY=1 (systemd notify protocol, on $NOTIFY_SOCKET)
//   --ready-delay-ms N      ... after N ms
//   --status TEXT           send STATUS=TEXT with READY=1
//   --watchdog              send WATCHDOG=1 every $WATCHDOG_USEC/4
//   --watchdog-stop-after-ms N   ... but stop after N ms (to miss the watchdog)
//   --exit-after-ms N       exit by itself after N ms, with --exit-code C (default 0)
//   --fail-if-exists PATH   exit 3 at once when PATH exists (a child that cannot start)
//   --ignore-sigterm        only SIGKILL stops it
//   --grandchild            fork a grandchild that sleeps forever in the same process group
//   --tool-grandchild       start a "tool" as a worker does (a process group of its own, killed
//                           by PDEATHSIG when we die) with a child of its own that sleeps forever;
//                           print "tool-grandchild <pid>" (of that child)
//   --print TEXT            write TEXT and a newline to stdout at start
//   --print-stderr TEXT     write TEXT and a newline to stderr at start
//   --crash-after-print     after printing, write "unterminated" without a newline and abort()
//   --print-env NAME        write NAME=<its value> to stdout at start
//   --report PATH           first thing: send "<pid> <CLOCK_MONOTONIC ns>" to the Unix datagram
//                           socket at PATH (for bench/restart_latency)
//   --allocate-mb N         at start, allocate N MiB and touch every page (resident, not just
//                           reserved), and hold it
//   --allocate-once PATH    ... only if PATH does not exist, and create it first (so that the
//                           restarted process stays small)
// SIGTERM: exit 0. SIGUSR1: exit 0. SIGUSR2: exit 1.
//
// It links nothing but libc (the notify protocol is a few lines), so that it starts fast.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void send_datagram(const char* path, const std::string& text) {
  if (path == nullptr || *path == '\0') return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sendto(fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  close(fd);
}

void notify(const std::string& text) { send_datagram(std::getenv("NOTIFY_SOCKET"), text); }

}  // namespace

int main(int argc, char** argv) {
  const int64_t born_ns = monotonic_ns();
  bool ready = false, watchdog = false, ignore_term = false, grandchild = false, crash = false;
  bool tool_grandchild = false;
  int64_t ready_delay = 0, exit_after = -1, watchdog_stop = -1;
  int exit_code = 0;
  std::string status, print, print_err, fail_if, report, print_env, allocate_once;
  int64_t allocate_mb = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--ready") ready = true;
    else if (a == "--ready-delay-ms") ready_delay = std::atoll(next().c_str());
    else if (a == "--status") status = next();
    else if (a == "--watchdog") watchdog = true;
    else if (a == "--watchdog-stop-after-ms") watchdog_stop = std::atoll(next().c_str());
    else if (a == "--exit-after-ms") exit_after = std::atoll(next().c_str());
    else if (a == "--exit-code") exit_code = std::atoi(next().c_str());
    else if (a == "--fail-if-exists") fail_if = next();
    else if (a == "--ignore-sigterm") ignore_term = true;
    else if (a == "--grandchild") grandchild = true;
    else if (a == "--tool-grandchild") tool_grandchild = true;
    else if (a == "--print") print = next();
    else if (a == "--print-stderr") print_err = next();
    else if (a == "--crash-after-print") crash = true;
    else if (a == "--report") report = next();
    else if (a == "--print-env") print_env = next();
    else if (a == "--allocate-mb") allocate_mb = std::atoll(next().c_str());
    else if (a == "--allocate-once") allocate_once = next();
    else {
      std::fprintf(stderr, "pipeline-test-child: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (!report.empty()) {
    send_datagram(report.c_str(), std::to_string(getpid()) + " " + std::to_string(born_ns));
  }
  if (!fail_if.empty() && access(fail_if.c_str(), F_OK) == 0) {
    std::fprintf(stderr, "pipeline-test-child: %s exists: failing\n", fail_if.c_str());
    return 3;
  }

  if (allocate_mb > 0) {
    bool allocate = true;
    if (!allocate_once.empty()) {
      const int fd = open(allocate_once.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      allocate = fd >= 0;  // it existed: a previous run allocated already
      if (fd >= 0) close(fd);
    }
    if (allocate) {
      const size_t bytes = static_cast<size_t>(allocate_mb) << 20;
      void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) {
        std::fprintf(stderr, "pipeline-test-child: cannot allocate %lld MiB\n",
                     static_cast<long long>(allocate_mb));
        return 4;
      }
      std::memset(p, 1, bytes);
      std::printf("allocated %lld MiB\n", static_cast<long long>(allocate_mb));
      std::fflush(stdout);
    }
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  const int sfd = signalfd(-1, &set, SFD_CLOEXEC);

  if (grandchild) {
    const pid_t pid = fork();
    if (pid == 0) {
      sigprocmask(SIG_UNBLOCK, &set, nullptr);
      for (;;) pause();
    }
    std::printf("grandchild %d\n", static_cast<int>(pid));
    std::fflush(stdout);
  }
  if (tool_grandchild) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return 1;
    if (fork() == 0) {  // the tool: its own group, gone with its parent
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const pid_t inner = fork();
      if (inner == 0) {  // the tool's child: same group, no PDEATHSIG
        sigprocmask(SIG_UNBLOCK, &set, nullptr);
        for (;;) pause();
      }
      (void)!::write(pipe_fds[1], &inner, sizeof inner);
      sigprocmask(SIG_UNBLOCK, &set, nullptr);
      for (;;) pause();
    }
    pid_t inner = 0;
    (void)!::read(pipe_fds[0], &inner, sizeof inner);
    std::printf("tool-grandchild %d\n", static_cast<int>(inner));
    std::fflush(stdout);
  }
  if (!print.empty()) {
    std::printf("%s\n", print.c_str());
    std::fflush(stdout);
  }
  if (!print_env.empty()) {
    const char* v = std::getenv(print_env.c_str());
    std::printf("%s=%s\n", print_env.c_str(), v ? v : "(unset)");
    std::fflush(stdout);
  }
  if (!print_err.empty()) std::fprintf(stderr, "%s\n", print_err.c_str());
  if (crash) {
    std::fputs("unterminated", stdout);
    std::fflush(stdout);
    abort();
  }

  int64_t watchdog_every_ms = 0;
  if (watchdog) {
    const char* usec = std::getenv("WATCHDOG_USEC");
    if (usec != nullptr) watchdog_every_ms = std::max<int64_t>(1, std::atoll(usec) / 4000);
  }
  const int64_t start_ms = (monotonic_ns() - born_ns) / 1'000'000;
  int64_t next_ready = ready ? ready_delay : -1;
  int64_t next_ping = watchdog_every_ms > 0 ? 0 : -1;
  for (;;) {
    const int64_t now = (monotonic_ns() - born_ns) / 1'000'000 - start_ms;
    if (next_ready >= 0 && now >= next_ready) {
      notify(status.empty() ? "READY=1" : "READY=1\nSTATUS=" + status);
      next_ready = -1;
    }
    if (next_ping >= 0 && now >= next_ping) {
      if (watchdog_stop >= 0 && now >= watchdog_stop) {
        next_ping = -1;
      } else {
        notify("WATCHDOG=1");
        next_ping = now + watchdog_every_ms;
      }
    }
    if (exit_after >= 0 && now >= exit_after) return exit_code;
    int64_t wait = -1;
    for (int64_t t : {next_ready, next_ping, exit_after}) {
      if (t >= 0 && (wait < 0 || t - now < wait)) wait = std::max<int64_t>(0, t - now);
    }
    pollfd p{sfd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait)) > 0) {
      signalfd_siginfo info;
      if (read(sfd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGTERM && !ignore_term) return 0;
        if (info.ssi_signo == SIGUSR1) return 0;
        if (info.ssi_signo == SIGUSR2) return 1;
      }
    }
  }
}
