#include "cli/private_tree.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "cli/embedded_config.h"
#include "common/fs.h"
#include "common/state_paths.h"

extern char** environ;

namespace pl::cli {
namespace fs = std::filesystem;

namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// A datagram socket standing in for systemd's notify socket, so the supervisor tells us when
// its tree has started.
Result<int> listen_for_ready(const fs::path& path) {
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return errno_error("socket", errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof addr.sun_path) {
    ::close(fd);
    return make_error(ErrorCode::kInvalidInput, "notify socket path too long: " + path.string());
  }
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return errno_error("bind " + path.string(), err);
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<PrivateTree>> PrivateTree::start(std::chrono::milliseconds ready_timeout) {
  char tmpl[] = "/tmp/pipeline-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return errno_error("create a temporary state directory", errno);
  std::unique_ptr<PrivateTree> tree(new PrivateTree());
  tree->state_dir_ = tmpl;
  tree->stopped_ = true;  // nothing to stop until the supervisor runs

  const fs::path config = tree->state_dir_ / "config.yaml";
  if (auto st = write_file_atomic(config, kEmbeddedConfig); !st.ok()) return std::move(st).error();
  const fs::path ready_socket = tree->state_dir_ / "ready.sock";
  auto ready_fd = listen_for_ready(ready_socket);
  if (!ready_fd.ok()) return std::move(ready_fd).error();

  const fs::path self = fs::read_symlink("/proc/self/exe");
  const std::string supervisor = (self.parent_path() / "pipeline-supervisor").string();
  const std::string log = (tree->state_dir_ / "supervisor.log").string();
  std::vector<std::string> args{
      supervisor, "--config", config.string(), "--state-dir", tree->state_dir_.string(),
      "--private"};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    if (entry.rfind("NOTIFY_SOCKET=", 0) == 0 || entry.rfind("PIPELINE_STATE_DIR=", 0) == 0) {
      continue;
    }
    env.emplace_back(entry);
  }
  env.push_back("NOTIFY_SOCKET=" + ready_socket.string());
  std::vector<char*> c_args, c_env;
  for (auto& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  for (auto& e : env) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(*ready_fd);
    return errno_error("fork", errno);
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // pipelinectl gone: stop the tree in order
    if (::getppid() != parent) ::_exit(127);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(c_args[0], c_args.data(), c_env.data());
    ::dprintf(STDERR_FILENO, "cannot run %s: %s\n", c_args[0], std::strerror(errno));
    ::_exit(127);
  }
  tree->pid_ = pid;
  tree->pidfd_ = pidfd_open(pid);
  tree->stopped_ = false;

  const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  Status outcome = make_error(ErrorCode::kTimeout, "the private tree did not become ready within " +
                                                       std::to_string(ready_timeout.count()) + " ms");
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd fds[2] = {{*ready_fd, POLLIN, 0}, {tree->pidfd_, POLLIN, 0}};
    const int n = ::poll(fds, tree->pidfd_ >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      char buf[4096];
      const ssize_t got = ::recv(*ready_fd, buf, sizeof buf - 1, 0);
      if (got > 0 && std::string_view(buf, static_cast<size_t>(got)).find("READY=1") !=
                         std::string_view::npos) {
        outcome = ok_status();
        break;
      }
    }
    if (tree->pidfd_ >= 0 && (fds[1].revents & POLLIN)) {
      outcome = make_error(ErrorCode::kUnavailable, "the private tree's supervisor exited while starting");
      break;
    }
  }
  ::close(*ready_fd);
  if (!outcome.ok()) {
    const std::string tail = tree->log_tail(20);
    tree->stop(std::chrono::seconds(5));
    return make_error(outcome.error().code,
                      outcome.error().message + (tail.empty() ? "" : "; its log ends:\n" + tail));
  }
  return tree;
}

std::string PrivateTree::log_tail(size_t lines) const {
  std::ifstream in(state_dir_ / "supervisor.log");
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += all[i] + "\n";
  }
  return out;
}

void PrivateTree::stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  ::kill(pid_, SIGTERM);
  bool exited = false;
  if (pidfd_ >= 0) {
    pollfd fd{pidfd_, POLLIN, 0};
    exited = ::poll(&fd, 1, static_cast<int>(grace.count())) > 0;
  }
  if (!exited) ::kill(-pid_, SIGKILL);  // the supervisor, and anything left in its group
  int status = 0;
  ::waitpid(pid_, &status, 0);
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
}

PrivateTree::~PrivateTree() {
  stop(std::chrono::seconds(15));
  std::error_code ec;
  if (!state_dir_.empty()) fs::remove_all(state_dir_, ec);
}

}  // namespace pl::cli
