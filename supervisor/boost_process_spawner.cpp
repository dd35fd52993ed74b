// The real ProcessSpawner, on Boost.Process (kept to this one file: it is heavy to compile).
//
// Boost.Process forks, runs our setup in the child, execs, and reports an exec failure through
// a close-on-exec pipe, so spawn() returns only once the program runs (or could not). Its
// `child` object would kill and reap the process when destroyed: we detach it at once and own
// the process through a pidfd instead.
//
// It spawns with vfork, not fork: the child borrows our address space until it execs, so the
// cost does not grow with our mappings (measured on the reference 2-core VM: fork + exec-wait
// 1.3 ms median, vfork 0.07 ms). Boost 1.74 enables its vfork path only for pre-2008 POSIX
// feature macros (vfork left POSIX then); glibc has it, so we turn it on here. Everything our
// setup does in the child is a plain system call on its own stack frame.
#define BOOST_POSIX_HAS_VFORK 1
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/posix.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/open_file_limit.h"
#include "supervisor/process_spawner.h"

namespace pl::supervisor {
namespace bp = boost::process;
namespace {

// One setrlimit, prepared before the fork so that the child only makes the system call.
struct PreparedLimit {
  int resource = 0;
  rlimit value{RLIM_INFINITY, RLIM_INFINITY};  // soft and hard
  const char* what = "";  // for the error message: a string literal
};

int rlimit_resource(Resource r) {
  switch (r) {
    case Resource::kCpuSeconds: return RLIMIT_CPU;
    case Resource::kOpenFiles: return RLIMIT_NOFILE;
    case Resource::kAddressSpace: return RLIMIT_AS;
    case Resource::kFileSize: return RLIMIT_FSIZE;
    case Resource::kProcesses: return RLIMIT_NPROC;
    case Resource::kCoreSize: return RLIMIT_CORE;
    case Resource::kStack: return RLIMIT_STACK;
  }
  return RLIMIT_NOFILE;
}

const char* rlimit_error(Resource r) {
  switch (r) {
    case Resource::kCpuSeconds: return "setrlimit cpu_seconds";
    case Resource::kOpenFiles: return "setrlimit open_files";
    case Resource::kAddressSpace: return "setrlimit address_space";
    case Resource::kFileSize: return "setrlimit file_size";
    case Resource::kProcesses: return "setrlimit processes";
    case Resource::kCoreSize: return "setrlimit core_size";
    case Resource::kStack: return "setrlimit stack";
  }
  return "setrlimit";
}

// Runs in the vforked child, before exec: system calls only (no allocation, no locks, nothing
// that writes our memory beyond its own frame).
struct ChildSetup : bp::extend::handler {
  const char* const* envp = nullptr;
  const char* cwd = nullptr;
  int output = -1;
  int errors = -1;
  pid_t parent = -1;
  int cgroup_procs = -1;
  const PreparedLimit* limits = nullptr;
  size_t limit_count = 0;
  // Where the child says which step failed (vfork: our memory; a string literal).
  const char** failed_step = nullptr;

  template <class Executor>
  [[noreturn]] void fail(Executor& exec, const char* step) const {
    const int err = errno;
    *failed_step = step;
    exec.set_error(std::error_code(err, std::system_category()), step);
    ::_exit(127);
  }

  template <class Executor>
  void on_setup(Executor& exec) const {
    exec.env = const_cast<char**>(envp);
  }

  template <class Executor>
  void on_exec_setup(Executor& exec) const {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the supervisor died before PDEATHSIG was set
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::dup2(output, STDOUT_FILENO);
    ::dup2(errors, STDERR_FILENO);
    if (cwd != nullptr && ::chdir(cwd) != 0) fail(exec, "chdir");
    // Into its cgroup before anything of the program runs ("0": the writing process).
    if (cgroup_procs >= 0 && ::write(cgroup_procs, "0", 1) != 1) fail(exec, "joining its cgroup");
    for (size_t i = 0; i < limit_count; ++i) {
      if (::setrlimit(limits[i].resource, &limits[i].value) != 0) fail(exec, limits[i].what);
    }
    // Nothing of ours leaks into the child, whatever flags it was opened with.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  }
};

bool make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  return true;
}

class BoostProcessSpawner final : public ProcessSpawner {
 public:
  Result<LaunchedProcess> spawn(const LaunchRequest& request) override {
    const ProcessSpec& spec = *request.spec;
    LaunchedProcess launched;
    UniqueFd out_write, err_write;
    if (!make_pipe(launched.output, out_write) || !make_pipe(launched.errors, err_write)) {
      return errno_error("pipe for " + request.name, errno);
    }
    std::vector<const char*> envp;
    envp.reserve(request.env.size() + 1);
    for (const auto& e : request.env) envp.push_back(e.c_str());
    envp.push_back(nullptr);

    std::vector<PreparedLimit> limits;
    bool open_files_given = false;
    for (const ResourceLimit& l : spec.rlimits) {
      const rlim_t value = l.value == kUnlimited ? RLIM_INFINITY : static_cast<rlim_t>(l.value);
      limits.push_back(
          PreparedLimit{rlimit_resource(l.resource), {value, value}, rlimit_error(l.resource)});
      open_files_given |= l.resource == Resource::kOpenFiles;
    }
    // Otherwise the child starts with the limit we were started with, not the one we raised for
    // ourselves (open_file_limit.h); our own programs raise theirs again.
    if (!open_files_given) {
      limits.push_back(PreparedLimit{RLIMIT_NOFILE, inherited_open_file_limit(),
                                     rlimit_error(Resource::kOpenFiles)});
    }

    const char* failed_step = nullptr;
    ChildSetup setup;
    setup.failed_step = &failed_step;
    setup.cgroup_procs = request.cgroup_procs_fd;
    setup.limits = limits.data();
    setup.limit_count = limits.size();
    setup.envp = envp.data();
    setup.cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
    setup.output = out_write.get();
    setup.errors = err_write.get();
    setup.parent = ::getpid();

    pid_t failed_pid = -1;
    std::error_code ec;
    std::vector<std::string> args(spec.argv.begin() + (spec.argv.empty() ? 0 : 1), spec.argv.end());
    bp::child child(bp::exe = spec.executable, bp::args = args, setup, bp::posix::use_vfork,
                    bp::extend::on_error =
                        [&](auto& exec, const std::error_code&) { failed_pid = exec.pid; },
                    ec);
    if (ec) {
      if (failed_pid > 0) ::waitpid(failed_pid, nullptr, 0);  // it has _exit()ed already
      return make_error(ErrorCode::kIo, "cannot start " + spec.executable + ": " +
                                            (failed_step ? std::string(failed_step) + ": " : "") +
                                            ec.message());
    }
    launched.pid = child.id();
    child.detach();
    ::setpgid(launched.pid, launched.pid);  // harmless if the child did it first
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, launched.pid, 0));
    if (pidfd < 0) {
      const int err = errno;
      ::kill(launched.pid, SIGKILL);
      ::waitpid(launched.pid, nullptr, 0);
      return errno_error("pidfd_open for " + request.name, err);
    }
    launched.pidfd.reset(pidfd);
    return launched;
  }
};

}  // namespace

std::unique_ptr<ProcessSpawner> make_boost_process_spawner() {
  return std::make_unique<BoostProcessSpawner>();
}

}  // namespace pl::supervisor
