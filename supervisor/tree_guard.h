// The guard: a tiny companion process that makes sure no child or grandchild outlives the
// supervisor, even when the supervisor is killed with SIGKILL.
//
// PR_SET_PDEATHSIG kills each child when the supervisor dies, but not the child's own
// children. So the supervisor tells the guard, over a pipe, the process group of every child it
// starts (and forgets) it; when the pipe closes, which the kernel does however the supervisor
// dies, the guard SIGKILLs every group still on its list and exits. A clean shutdown leaves the
// list empty. The guard runs in its own process group, with every signal blocked, so a Ctrl-C or
// a group kill aimed at the supervisor cannot take it down first.
//
// It is forked without exec and runs only async-signal-safe code on a fixed-size list (4096
// groups), so it may be started (or restarted) at any time.
#pragma once

#include <sys/types.h>

#include <utility>
#include <vector>

#include "common/result.h"
#include "supervisor/unique_fd.h"

namespace pl::supervisor {

class TreeGuard {
 public:
  // Starts a guard that watches `groups` (process group ids) from its first instruction.
  static Result<TreeGuard> start(const std::vector<pid_t>& groups = {});
  TreeGuard(TreeGuard&& o) noexcept : pid_(std::exchange(o.pid_, -1)), pipe_(std::move(o.pipe_)) {}
  TreeGuard& operator=(TreeGuard&& o) noexcept {
    if (this != &o) {
      stop();
      pid_ = std::exchange(o.pid_, -1);
      pipe_ = std::move(o.pipe_);
    }
    return *this;
  }
  // Stops the guard (see stop()).
  ~TreeGuard();

  pid_t pid() const { return pid_; }
  void watch(pid_t pgid);
  void unwatch(pid_t pgid);
  // Closes the pipe and reaps the guard (it exits at once after killing what is still on its
  // list). REQUIRES: the guard is still our unreaped child, or was reaped through reaped().
  void stop();
  // The guard has exited and was reaped by someone else (the SIGCHLD loop).
  void reaped() { pid_ = -1; }

 private:
  TreeGuard() = default;
  void send(char op, pid_t pgid);
  pid_t pid_ = -1;
  UniqueFd pipe_;
};

}  // namespace pl::supervisor
