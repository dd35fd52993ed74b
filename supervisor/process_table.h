// The processes the supervisor runs, each owned through a pidfd (never signalled by a pid that
// could have been reused), and the reaping of everything that dies below us.
//
// The supervisor is a child subreaper: orphaned grandchildren are reparented to it and must be
// reaped too. reap_exited() peeks at every zombie child (waitid WNOWAIT), reaps our own through
// their pidfd (after killing what is left of their process group) and the rest directly.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "supervisor/core_io.h"
#include "supervisor/unique_fd.h"

namespace pl::supervisor {

class ProcessTable {
 public:
  void add(pid_t pid, UniqueFd pidfd);
  bool contains(pid_t pid) const { return live_.count(pid) != 0; }
  // Whether the process has ended (it is then a zombie waiting for reap()). False for an
  // unknown pid.
  bool has_exited(pid_t pid) const;
  size_t size() const { return live_.size(); }

  // Sends `sig` to the process (pidfd_send_signal) and, when `group`, to its process group.
  // Safe against pid reuse: the process is not reaped yet, so its pid (= its group id) is
  // still ours. No-op for an unknown pid.
  void signal(pid_t pid, int sig, bool group) const;

  // If `pid` has exited: SIGKILLs its process group (grandchildren die with it), reaps it and
  // forgets it. nullopt while it still runs. `wall_ms` stamps the exit.
  std::optional<ProcessExited> reap(pid_t pid, int64_t wall_ms);

  // Every pid and its pidfd, for the poll set.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [pid, fd] : live_) f(pid, fd.get());
  }

  // Handles every zombie child: ours are reaped through reap() and returned; `other_child` is
  // asked about the rest (return true when it reaped that pid itself, e.g. the guard); what is
  // left is an orphan and is reaped here, and the rest of the process group it led killed. `group_gone` is called with the group of each of
  // ours, once it has been killed and before the reap (for the guard's list).
  std::vector<ProcessExited> reap_exited(int64_t wall_ms,
                                         const std::function<bool(pid_t)>& other_child,
                                         const std::function<void(pid_t)>& group_gone);

  // SIGKILLs every process that is our child without being one of ours (nor `except`, the
  // guard), and the process group each one leads: orphans reparented to us that still run,
  // such as a grandchild that left its parent's group (setsid) before its parent ended. For
  // the supervisor's exit, so that nothing it started outlives it. Read from
  // /proc/self/task/*/children; they are not reaped (a SIGKILLed process can take time to go;
  // once we have exited, init reaps them). Returns how many were killed.
  size_t kill_adopted(pid_t except) const;

 private:
  std::map<pid_t, UniqueFd> live_;
};

}  // namespace pl::supervisor
