#include "supervisor/process_table.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

namespace pl::supervisor {

void ProcessTable::add(pid_t pid, UniqueFd pidfd) { live_[pid] = std::move(pidfd); }

void ProcessTable::signal(pid_t pid, int sig, bool group) const {
  auto it = live_.find(pid);
  if (it == live_.end()) return;
  ::syscall(SYS_pidfd_send_signal, it->second.get(), sig, nullptr, 0);
  if (group) ::kill(-pid, sig);
}

bool ProcessTable::has_exited(pid_t pid) const {
  auto it = live_.find(pid);
  if (it == live_.end()) return false;
  siginfo_t info{};
  return ::waitid(P_PIDFD, static_cast<id_t>(it->second.get()), &info,
                  WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid != 0;
}

std::optional<ProcessExited> ProcessTable::reap(pid_t pid, int64_t wall_ms) {
  auto it = live_.find(pid);
  if (it == live_.end()) return std::nullopt;
  siginfo_t info{};
  // Peek first: the group may only be killed while the leader is unreaped.
  if (::waitid(P_PIDFD, static_cast<id_t>(it->second.get()), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid == 0) {
    return std::nullopt;
  }
  ::kill(-pid, SIGKILL);  // whatever it left behind in its group goes with it
  info = {};
  while (::waitid(P_PIDFD, static_cast<id_t>(it->second.get()), &info, WEXITED | WNOHANG) != 0 &&
         errno == EINTR) {
  }
  ProcessExited e;
  e.pid = pid;
  e.time_ms = wall_ms;
  if (info.si_code == CLD_EXITED) {
    e.exit_status = info.si_status;
  } else {
    e.signal = info.si_status;
  }
  live_.erase(it);
  return e;
}

std::vector<ProcessExited> ProcessTable::reap_exited(
    int64_t wall_ms, const std::function<bool(pid_t)>& other_child,
    const std::function<void(pid_t)>& group_gone) {
  std::vector<ProcessExited> ours;
  for (int rounds = 0; rounds < 100000; ++rounds) {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: no children at all
    }
    if (info.si_pid == 0) break;  // children, but none has exited
    const pid_t pid = info.si_pid;
    if (contains(pid)) {
      if (group_gone) group_gone(pid);
      if (auto e = reap(pid, wall_ms)) ours.push_back(*e);
      continue;
    }
    if (other_child && other_child(pid)) continue;
    // An orphan that led a process group (a tool a worker started, the worker gone) leaves the
    // rest of its group behind, reparented to us: it goes with its leader. While the leader is
    // an unreaped zombie its pid, and so its group's id, cannot be reused.
    (void)::kill(-pid, SIGKILL);
    while (::waitpid(pid, nullptr, WNOHANG) < 0 && errno == EINTR) {
    }
  }
  return ours;
}

size_t ProcessTable::kill_adopted(pid_t except) const {
  std::vector<pid_t> adopted;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream in(task.path() / "children");
    for (pid_t pid = 0; in >> pid;) {
      if (pid > 0 && pid != except && !contains(pid)) adopted.push_back(pid);
    }
  }
  for (pid_t pid : adopted) {
    // Unreaped, it is still our child: neither its pid nor its group id can be reused.
    if (::getpgid(pid) == pid) ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  return adopted.size();
}

}  // namespace pl::supervisor
