#include "tests/support/harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace pl::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  char tmpl[] = "/tmp/pl-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    return;
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path bin_dir() {
  if (const char* env = std::getenv("PIPELINE_BIN_DIR"); env && *env) return env;
  return fs::read_symlink("/proc/self/exe").parent_path();
}

fs::path source_dir() {
#ifdef PIPELINE_SOURCE_DIR
  return PIPELINE_SOURCE_DIR;
#else
  return fs::current_path();
#endif
}

std::string binary(const std::string& name) { return (bin_dir() / name).string(); }

namespace {

std::vector<std::string> build_env(const SpawnOptions& options) {
  std::vector<std::string> env;
  auto overridden = [&](const std::string& entry) {
    const std::string name = entry.substr(0, entry.find('='));
    for (const auto& u : options.unset_env) {
      if (u == name) return true;
    }
    for (const auto& e : options.env) {
      if (e.substr(0, e.find('=')) == name) return true;
    }
    return false;
  };
  for (char** e = environ; *e; ++e) {
    if (!overridden(*e)) env.emplace_back(*e);
  }
  for (const auto& e : options.env) env.push_back(e);
  return env;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Process Process::spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  std::vector<std::string> env = build_env(options);
  std::vector<char*> c_argv, c_env;
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  for (const auto& e : env) c_env.push_back(const_cast<char*>(e.c_str()));
  c_env.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return Process();
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) ::_exit(127);
    auto redirect = [](const fs::path& file, int target) {
      if (file.empty()) return;
      const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) ::_exit(127);
      ::dup2(fd, target);
    };
    redirect(options.stdout_file, STDOUT_FILENO);
    redirect(options.stderr_file, STDERR_FILENO);
    ::execve(c_argv[0], c_argv.data(), c_env.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent, so the group exists before we signal it
  Process p;
  p.pid_ = pid;
  return p;
}

Process::Process(Process&& other) noexcept : pid_(other.pid_), exit_code_(other.exit_code_) {
  other.pid_ = -1;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    this->~Process();
    pid_ = other.pid_;
    exit_code_ = other.exit_code_;
    other.pid_ = -1;
  }
  return *this;
}

Process::~Process() {
  if (pid_ <= 0) return;
  if (!exit_code_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  } else {
    ::kill(-pid_, SIGKILL);  // the leader is gone; anything left in its group goes too
  }
}

// Never after the process was reaped: its pid may belong to someone else by then.
bool Process::signal(int sig) const { return pid_ > 0 && !exit_code_ && ::kill(pid_, sig) == 0; }
bool Process::signal_group(int sig) const { return pid_ > 0 && !exit_code_ && ::kill(-pid_, sig) == 0; }

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = exit_code_of(status);
      return exit_code_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(2ms);
  }
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const SpawnOptions& options) {
  TempDir capture;
  SpawnOptions with_capture = options;
  with_capture.stdout_file = capture.path() / "out";
  with_capture.stderr_file = capture.path() / "err";
  Process p = Process::spawn(argv, with_capture);
  CommandResult result;
  auto code = p.wait(timeout);
  if (!code) {
    p.signal_group(SIGKILL);
    p.wait(10s);
  }
  result.exit_code = code.value_or(-1);
  result.out = read_text(capture.path() / "out");
  result.err = read_text(capture.path() / "err");
  return result;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  const char state = line[close + 2];
  return state != 'Z' && state != 'X';
}

std::vector<pid_t> processes_with_env(const std::string& entry) {
  std::vector<pid_t> found;
  DIR* proc = ::opendir("/proc");
  if (!proc) return found;
  while (dirent* d = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(d->d_name, &end, 10);
    if (!end || *end != '\0' || pid <= 0) continue;
    std::ifstream environ_file(std::string("/proc/") + d->d_name + "/environ", std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(environ_file)),
                        std::istreambuf_iterator<char>());
    size_t start = 0;
    while (start < content.size()) {
      const size_t stop = content.find('\0', start);
      const std::string_view var(content.data() + start,
                                 (stop == std::string::npos ? content.size() : stop) - start);
      if (var == entry && process_alive(static_cast<pid_t>(pid))) {
        found.push_back(static_cast<pid_t>(pid));
        break;
      }
      if (stop == std::string::npos) break;
      start = stop + 1;
    }
  }
  ::closedir(proc);
  return found;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
std::string tmpfs_options(const std::string& size) { return "size=" + size + ",mode=0700"; }
}  // namespace

SmallFileSystem::SmallFileSystem(const std::filesystem::path& at, const std::string& size)
    : at_(at) {
  std::filesystem::create_directories(at);
  mounted_ = ::mount("tmpfs", at.c_str(), "tmpfs", 0, tmpfs_options(size).c_str()) == 0;
  if (!mounted_) error_ = std::strerror(errno);
}

SmallFileSystem::~SmallFileSystem() {
  if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
}

bool SmallFileSystem::grow(const std::string& size) {
  return ::mount("tmpfs", at_.c_str(), "tmpfs", MS_REMOUNT, tmpfs_options(size).c_str()) == 0;
}

std::filesystem::path SmallFileSystem::fill() {
  const auto filler = at_ / "filler";
  std::ofstream out(filler, std::ios::binary);
  const std::string block(1 << 16, 'x');
  while (out.write(block.data(), static_cast<std::streamsize>(block.size())) && out.flush()) {
  }
  return filler;
}

}  // namespace pl::test
