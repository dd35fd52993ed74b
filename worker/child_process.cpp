#include "worker/child_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "common/open_file_limit.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace pl::worker {
namespace {

constexpr int64_t kCancelCheckMs = 20;
// How many times the tool's session is swept for processes to kill (those forking meanwhile).
constexpr int kSessionSweeps = 8;
// After the child exits, how long its pipes may stay open (held by killed descendants).
constexpr auto kDrainGrace = std::chrono::milliseconds(500);

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe", errno);
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Everything the child needs, prepared before fork: after fork only async-signal-safe calls.
struct ExecPlan {
  const char* program;
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* cwd;
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
  int report_fd;
  pid_t parent;
  rlimit cpu;
  rlimit memory;
  rlimit files;
  bool set_memory;
  bool set_files;
  bool set_cpu;
};

// What a child that cannot exec tells its parent through the report pipe.
struct LaunchReport {
  LaunchStage stage;
  int err;
};

[[noreturn]] void child_fail(int report_fd, LaunchStage stage) {
  const LaunchReport report{stage, errno};
  ssize_t ignored = ::write(report_fd, &report, sizeof report);
  (void)ignored;
  ::_exit(127);
}

void move_fd(int from, int to, int report_fd) {
  if (from == to) {
    ::fcntl(to, F_SETFD, 0);  // keep it across exec
  } else if (::dup2(from, to) < 0) {
    child_fail(report_fd, LaunchStage::kSetup);
  }
}

[[noreturn]] void exec_child(const ExecPlan& p) {
  // A session of its own (and so a process group): descendants that move to other groups, as a
  // shell's jobs do under `set -m`, stay in it and are found there when the tool ends.
  if (::setsid() < 0) child_fail(p.report_fd, LaunchStage::kSetup);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != p.parent) ::_exit(127);  // the parent is already gone
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  move_fd(p.stdin_fd, 0, p.report_fd);
  move_fd(p.stdout_fd, 1, p.report_fd);
  move_fd(p.stderr_fd, 2, p.report_fd);
  if (p.set_cpu && ::setrlimit(RLIMIT_CPU, &p.cpu) != 0) {
    child_fail(p.report_fd, LaunchStage::kCpuLimit);
  }
  if (p.set_memory && ::setrlimit(RLIMIT_AS, &p.memory) != 0) {
    child_fail(p.report_fd, LaunchStage::kMemoryLimit);
  }
  if (p.set_files && ::setrlimit(RLIMIT_NOFILE, &p.files) != 0) {
    child_fail(p.report_fd, LaunchStage::kFilesLimit);
  }
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  if (::chdir(p.cwd) != 0) child_fail(p.report_fd, LaunchStage::kChdir);
  // Every other inherited descriptor closes at exec, whoever opened it (another thread included).
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // kernels before 5.11
  }
  ::execve(p.program, p.argv.data(), p.envp.data());
  child_fail(p.report_fd, LaunchStage::kExec);
}

// The session of process `pid` and whether it has exited (a zombie), from /proc/PID/stat;
// nullopt when it is gone.
std::optional<std::pair<pid_t, bool>> session_of(pid_t pid) {
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  Fd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return std::nullopt;
  char buf[1024];
  const ssize_t got = ::read(fd.get(), buf, sizeof buf - 1);
  if (got <= 0) return std::nullopt;
  buf[got] = '\0';
  // "pid (comm) state ppid pgrp session ...": comm may hold anything, ')' included.
  const char* after = std::strrchr(buf, ')');
  char state = 0;
  int ppid = 0, pgrp = 0, session = 0;
  if (!after || std::sscanf(after + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) != 4) {
    return std::nullopt;
  }
  return std::make_pair(static_cast<pid_t>(session), state == 'Z' || state == 'X');
}

// The live processes of session `sid` (the tool's descendants, whatever group they are in).
std::vector<pid_t> session_members(pid_t sid) {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  while (const dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || !end || *end != '\0') continue;
    const auto session = session_of(static_cast<pid_t>(pid));
    if (session && session->first == sid && !session->second) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return out;
}

// SIGKILL to the tool's process group, then to every process left in its session. Each is
// signalled through a pidfd opened before its session is checked, so a pid recycled meanwhile
// is never signalled. REQUIRES: the tool (the session leader) is not reaped yet, so that no
// other session can have its id.
void kill_session(pid_t sid) {
  ::kill(-sid, SIGKILL);
  for (int sweep = 0; sweep < kSessionSweeps; ++sweep) {
    const std::vector<pid_t> members = session_members(sid);
    if (members.empty()) return;
    for (pid_t pid : members) {
      Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
      if (pidfd.get() < 0) continue;
      const auto session = session_of(pid);
      if (!session || session->first != sid) continue;
      ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    }
  }
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Blocks SIGPIPE in this thread while the child's stdin is written, so that a child that does
// not read its input gives EPIPE instead of killing us; restores the mask afterwards.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe_only;
    ::sigemptyset(&pipe_only);
    ::sigaddset(&pipe_only, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old_);
    was_blocked_ = ::sigismember(&old_, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (was_blocked_) return;
    sigset_t pipe_only;
    ::sigemptyset(&pipe_only);
    ::sigaddset(&pipe_only, SIGPIPE);
    const timespec zero{0, 0};
    while (::sigtimedwait(&pipe_only, nullptr, &zero) == SIGPIPE) {
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_;
  bool was_blocked_ = false;
};

// The running child and its pipes, driven by poll until it is over.
class Supervision {
 public:
  Supervision(const ChildSpec& spec, pid_t pid, Fd pidfd, Fd out, Fd err, Fd in)
      : spec_(spec), pid_(pid), pidfd_(std::move(pidfd)), out_(std::move(out)), err_(std::move(err)),
        in_(std::move(in)) {}

  ChildOutcome wait(TimePoint deadline, const std::function<bool()>& cancelled) {
    const TimePoint started = SteadyClock::now();
    std::optional<ChildEnd> forced;
    TimePoint given_up_at{};
    bool exited = false;
    bool left_running = false;
    TimePoint drain_until{};
    while (!exited || ((out_.get() >= 0 || err_.get() >= 0) && SteadyClock::now() < drain_until)) {
      const TimePoint now = SteadyClock::now();
      if (!exited && !forced) {
        if (now >= deadline) forced = ChildEnd::kTimedOut;
        else if (cancelled && cancelled()) forced = ChildEnd::kCancelled;
        else if (out_text_.size() > spec_.max_stdout) forced = ChildEnd::kOutputTooLarge;
        if (forced) {
          kill_group();
          given_up_at = now + spec_.kill_grace;
        }
      } else if (!exited && now >= given_up_at) {
        reap_later();
        left_running = true;
        break;
      }
      int64_t wait_ms = exited ? millis_until(drain_until, now) : std::min(kCancelCheckMs, millis_until(deadline, now));
      poll_once(std::max<int64_t>(wait_ms, forced ? 5 : 0), exited);
      if (!exited && child_exited()) {
        exited = true;
        kill_group();  // descendants go with the tool
        reap();
        in_.reset();
        drain_until = SteadyClock::now() + kDrainGrace;
      }
    }
    ChildOutcome outcome;
    outcome.elapsed = SteadyClock::now() - started;
    outcome.err = std::move(err_text_);
    outcome.err_truncated = err_truncated_;
    outcome.left_running = left_running;
    if (out_text_.size() > spec_.max_stdout) {
      out_text_.resize(spec_.max_stdout);
      if (!forced) forced = ChildEnd::kOutputTooLarge;
    }
    outcome.out = std::move(out_text_);
    if (forced) {
      outcome.end = *forced;
    } else if (WIFEXITED(status_)) {
      outcome.end = ChildEnd::kExited;
      outcome.exit_code = WEXITSTATUS(status_);
    } else {
      outcome.end = ChildEnd::kSignaled;
      outcome.signal = WIFSIGNALED(status_) ? WTERMSIG(status_) : 0;
    }
    return outcome;
  }

 private:
  void kill_group() {
    if (spec_.kill_group) {
      spec_.kill_group(pid_);
    } else {
      kill_session(pid_);
    }
  }

  // A child that outlived its SIGKILL: a detached thread waits for it, so that it does not stay
  // a zombie once it exits, while the item goes on.
  void reap_later() {
    spdlog::warn("tool {} (pid {}) has not exited {} ms after SIGKILL; it is reaped when it does",
                 spec_.program, pid_, spec_.kill_grace.count());
    std::thread([pid = pid_] {
      int status;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }).detach();
  }

  bool child_exited() {
    pollfd p{pidfd_.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

  void reap() {
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
  }

  void poll_once(int64_t timeout_ms, bool exited) {
    pollfd fds[4];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_.get() >= 0) fds[out_i = n++] = {out_.get(), POLLIN, 0};
    if (err_.get() >= 0) fds[err_i = n++] = {err_.get(), POLLIN, 0};
    if (in_.get() >= 0) fds[in_i = n++] = {in_.get(), POLLOUT, 0};
    if (!exited) fds[n++] = {pidfd_.get(), POLLIN, 0};
    if (::poll(fds, static_cast<nfds_t>(n), static_cast<int>(timeout_ms)) <= 0) return;
    if (out_i >= 0 && fds[out_i].revents) read_into(out_, out_text_, false);
    if (err_i >= 0 && fds[err_i].revents) read_into(err_, err_text_, true);
    if (in_i >= 0 && fds[in_i].revents) write_stdin();
  }

  void read_into(Fd& fd, std::string& text, bool tail) {
    char buf[16384];
    for (;;) {
      const ssize_t got = ::read(fd.get(), buf, sizeof buf);
      if (got > 0) {
        if (tail) {
          text.append(buf, static_cast<size_t>(got));
          if (text.size() > 2 * spec_.stderr_tail_bytes) {
            text.erase(0, text.size() - spec_.stderr_tail_bytes);
            err_truncated_ = true;
          }
          continue;
        }
        // stdout is kept up to one byte past its bound, which tells the loop to end the tool;
        // what comes after (from descendants still writing while the pipe drains) is dropped.
        const size_t keep = spec_.max_stdout + 1 - std::min(text.size(), spec_.max_stdout + 1);
        text.append(buf, std::min(static_cast<size_t>(got), keep));
        if (text.size() > spec_.max_stdout) return;  // the loop ends it
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno == EAGAIN) return;
      fd.reset();  // EOF or an error: nothing more comes from here
      return;
    }
  }

  void write_stdin() {
    const std::string& data = *spec_.stdin_data;
    while (written_ < data.size()) {
      const ssize_t put = ::write(in_.get(), data.data() + written_, data.size() - written_);
      if (put > 0) {
        written_ += static_cast<size_t>(put);
        continue;
      }
      if (put < 0 && errno == EINTR) continue;
      if (put < 0 && errno == EAGAIN) return;
      break;  // EPIPE: the tool does not read its input
    }
    in_.reset();  // all written (or refused): the tool sees end of input
  }

  const ChildSpec& spec_;
  pid_t pid_;
  Fd pidfd_;
  Fd out_, err_, in_;
  std::string out_text_, err_text_;
  bool err_truncated_ = false;
  size_t written_ = 0;
  int status_ = 0;
};

}  // namespace

std::optional<std::string> find_program(const std::string& name, const std::string& path_variable) {
  if (name.find('/') != std::string::npos) return name;
  std::stringstream dirs(path_variable);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    // An empty or relative entry ("", ".", "bin") names the current directory's files: the
    // worker's here, the tool's workspace at exec. Neither is where a tool's program may come
    // from (a file the run wrote could stand in for `cat`).
    if (dir.empty() || dir.front() != '/') continue;
    const std::string candidate = dir + "/" + name;
    // A directory is searchable, so "executable" to access(): execvp passes it by, and so do we.
    struct stat st {};
    if (::stat(candidate.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

Result<ChildOutcome> run_child(const ChildSpec& spec, TimePoint deadline,
                               const std::function<bool()>& cancelled) {
  auto out = make_pipe();
  auto err = make_pipe();
  auto report = make_pipe();
  if (!out.ok()) return std::move(out).error();
  if (!err.ok()) return std::move(err).error();
  if (!report.ok()) return std::move(report).error();
  Pipe in;
  if (spec.stdin_data) {
    auto p = make_pipe();
    if (!p.ok()) return std::move(p).error();
    in = std::move(*p);
  } else {
    in.read = Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (in.read.get() < 0) return errno_error("open /dev/null", errno);
  }

  std::vector<std::string> argv = spec.argv;
  if (argv.empty()) argv.push_back(spec.program);
  ExecPlan plan{};
  plan.program = spec.program.c_str();
  plan.argv = c_strings(argv);
  plan.envp = c_strings(spec.env);
  const std::string cwd = spec.cwd.string();
  plan.cwd = cwd.c_str();
  plan.stdin_fd = in.read.get();
  plan.stdout_fd = out->write.get();
  plan.stderr_fd = err->write.get();
  plan.report_fd = report->write.get();
  plan.parent = ::getpid();
  plan.set_cpu = spec.cpu_seconds > 0;
  plan.cpu = {static_cast<rlim_t>(spec.cpu_seconds), static_cast<rlim_t>(spec.cpu_seconds + 1)};
  plan.set_memory = spec.memory_bytes > 0;
  plan.memory = {static_cast<rlim_t>(spec.memory_bytes), static_cast<rlim_t>(spec.memory_bytes)};
  // Without a limit of its own, the tool gets the one the worker was started with, not the one
  // it raised for itself (open_file_limit.h).
  plan.set_files = true;
  plan.files = spec.open_files > 0 ? rlimit{static_cast<rlim_t>(spec.open_files),
                                            static_cast<rlim_t>(spec.open_files)}
                                   : inherited_open_file_limit();

  SigpipeGuard sigpipe;
  const pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork", errno);
  if (pid == 0) exec_child(plan);

  // The child makes itself a session (and group) leader before it execs or reports, so the
  // parent (which waits for one or the other below) may signal its group from then on.
  in.read.reset();
  out->write.reset();
  err->write.reset();
  report->write.reset();
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  LaunchReport report_read{};
  ssize_t got;
  while ((got = ::read(report->read.get(), &report_read, sizeof report_read)) < 0 && errno == EINTR) {
  }
  if (got == sizeof report_read || pidfd.get() < 0) {
    const int pidfd_errno = errno;
    ::kill(-pid, SIGKILL);
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (got == sizeof report_read) return launch_error(spec, report_read.stage, report_read.err);
    return errno_error("cannot run " + spec.program + " in " + cwd + ": pidfd_open", pidfd_errno);
  }

  set_nonblocking(out->read.get());
  set_nonblocking(err->read.get());
  if (in.write.get() >= 0) set_nonblocking(in.write.get());
  Supervision supervision(spec, pid, std::move(pidfd), std::move(out->read), std::move(err->read),
                          std::move(in.write));
  return supervision.wait(deadline, cancelled);
}

Error launch_error(const ChildSpec& spec, LaunchStage stage, int err) {
  const std::string cwd = spec.cwd.string();
  auto limit = [&](std::string_view name, int64_t value) {
    // EPERM: above the worker's own hard limit, which an unprivileged worker cannot raise.
    Error e = errno_error("cannot give tool " + spec.program + " its limits." + std::string(name) +
                              " of " + std::to_string(value) + " (above the worker's own hard limit?)",
                          err);
    if (err == EPERM || err == EINVAL) e.code = ErrorCode::kInvalidInput;
    return e;
  };
  switch (stage) {
    case LaunchStage::kCpuLimit:
      return limit("cpu_seconds", spec.cpu_seconds);
    case LaunchStage::kMemoryLimit:
      return limit("memory_mb", spec.memory_bytes >> 20);
    case LaunchStage::kFilesLimit:
      return limit("open_files", spec.open_files);
    case LaunchStage::kSetup:
    case LaunchStage::kChdir:
    case LaunchStage::kExec:
      break;
  }
  Error e = errno_error("cannot run " + spec.program + " in " + cwd, err);
  if (stage != LaunchStage::kSetup &&
      (err == ENOENT || err == EACCES || err == ENOEXEC || err == ENOTDIR)) {
    e.code = ErrorCode::kInvalidInput;
  }
  return e;
}

}  // namespace pl::worker
