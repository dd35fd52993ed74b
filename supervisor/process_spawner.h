// The process-spawning seam: the shell asks it for a child process and gets back what it needs
// to own one (a pidfd, the read ends of its output pipes). Tests of the shell may substitute
// their own; the real one (boost_process_spawner.cpp) is the only place Boost.Process is used.
//
// Every process it starts:
// - is in its own process group (so the whole group can be signalled),
// - gets SIGKILL when the supervisor's spawning thread dies (PR_SET_PDEATHSIG), and exits at
//   once if the supervisor died before that could be set up,
// - has a clean signal mask and default dispositions, stdin on /dev/null, stdout and stderr on
//   two pipes, and no other descriptor of ours,
// - runs spec.executable with spec.argv, in spec.cwd, with exactly `env`,
// - has spec.rlimits set (soft = hard) before exec; a limit that cannot be set (raising a hard
//   limit without the privilege) fails the spawn, naming the limit,
// - joins the cgroup whose cgroup.procs is `cgroup_procs_fd`, when given, before exec.
// REQUIRES: called from the thread that runs the supervisor's loop (PDEATHSIG is per thread).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "supervisor/child_spec.h"
#include "supervisor/unique_fd.h"

namespace pl::supervisor {

struct LaunchRequest {
  std::string name;                // full child name, for error messages
  const ProcessSpec* spec = nullptr;
  std::vector<std::string> env;    // "KEY=VALUE", complete
  int cgroup_procs_fd = -1;        // a cgroup's cgroup.procs, open for writing; -1 = stay put
};

struct LaunchedProcess {
  pid_t pid = -1;
  UniqueFd pidfd;   // refers to this process even after its pid is reused
  UniqueFd output;  // read end of its stdout pipe (non-blocking)
  UniqueFd errors;  // read end of its stderr pipe (non-blocking)
};

class ProcessSpawner {
 public:
  virtual ~ProcessSpawner() = default;
  // The process, exec'd: on success the program is running. kIo with the reason when it could
  // not be started (fork or exec failed: "exec /x/y: No such file or directory").
  virtual Result<LaunchedProcess> spawn(const LaunchRequest& request) = 0;
};

std::unique_ptr<ProcessSpawner> make_boost_process_spawner();

}  // namespace pl::supervisor
