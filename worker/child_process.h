// Runs one program as a confined child process and collects what it wrote.
//
// The child: its own session and process group; PR_SET_PDEATHSIG(SIGKILL) so it dies with the thread that
// started it; an empty signal mask and default dispositions; RLIMIT_CPU / RLIMIT_AS /
// RLIMIT_NOFILE set before exec (and no core dumps); only the given environment; working directory `cwd`; every
// inherited descriptor closed but stdin (the given bytes, or /dev/null), stdout and stderr
// (pipes). It is exec'd directly (execve): no shell ever sees the arguments.
//
// The parent waits on a pidfd and the pipes with one poll loop, up to `deadline`, checking
// `cancelled` every few milliseconds. On the deadline, on cancellation and when stdout passes its
// bound, its process group and every process left in its session (a descendant that moved to a
// group of its own, as a shell's jobs do under `set -m`) are killed with SIGKILL, and the child
// is reaped (waited for up to `kill_grace`). When the child itself exits, whatever is left of its
// session is killed too, so no descendant outlives the tool (except one that left the session
// on purpose with setsid).
//
// Must be called from a thread that outlives the child (PR_SET_PDEATHSIG follows the thread).
// Thread-safe: concurrent calls from different threads are independent.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace pl::worker {

struct ChildSpec {
  std::string program;            // the file to exec: absolute, or relative to `cwd`
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value" entries: the child's whole environment
  std::filesystem::path cwd;
  std::optional<std::string> stdin_data;  // nullopt = /dev/null
  int64_t cpu_seconds = 0;   // RLIMIT_CPU soft limit (SIGXCPU); the hard limit is one more
  int64_t memory_bytes = 0;  // RLIMIT_AS; 0 = unchanged
  int64_t open_files = 0;    // RLIMIT_NOFILE; 0 = unchanged
  size_t max_stdout = 1 << 20;      // more than this ends the child (ChildEnd::kOutputTooLarge)
  size_t stderr_tail_bytes = 8192;  // only the last bytes of stderr are kept
  // A killed child that has still not exited this long after SIGKILL (stuck in the kernel, on a
  // dead network file system say) is waited for no longer: a thread of its own reaps it when it
  // does exit, and the outcome says `left_running`.
  std::chrono::milliseconds kill_grace{5000};
  // How the child's process group and session are killed (default: SIGKILL to the group and to
  // each process of the session). Only tests replace it, to have a child that does not die.
  std::function<void(pid_t group)> kill_group;
};

enum class ChildEnd { kExited, kSignaled, kTimedOut, kCancelled, kOutputTooLarge };

struct ChildOutcome {
  ChildEnd end = ChildEnd::kExited;
  int exit_code = -1;  // for kExited
  int signal = 0;      // for kSignaled
  std::string out;     // stdout, at most max_stdout bytes
  std::string err;     // the tail of stderr
  bool err_truncated = false;
  bool left_running = false;  // killed, but not exited within kill_grace: no longer waited for
  Duration elapsed{};
};

// Starts the child and waits for it as described above. An Error (kIo, or kInvalidInput when
// exec fails because the program is missing or not executable) means it did not run; anything
// that happened once it ran is in the outcome.
Result<ChildOutcome> run_child(const ChildSpec& spec, TimePoint deadline,
                               const std::function<bool()>& cancelled);

// Where a child that never ran its program failed, between fork and exec.
enum class LaunchStage : int { kSetup, kCpuLimit, kMemoryLimit, kFilesLimit, kChdir, kExec };

// The error of a child that failed at `stage` with `err` (an errno). A limit the worker may not
// grant, or a program that is missing or not executable, is kInvalidInput (the definition must
// change: retrying cannot help); anything else is kIo.
Error launch_error(const ChildSpec& spec, LaunchStage stage, int err);

// The program's path: `name` itself when it holds a '/', else the first executable file called
// `name` (not a directory) in the absolute directories of `path_variable` (a PATH value; empty
// and relative entries are skipped). nullopt when none is found.
std::optional<std::string> find_program(const std::string& name, const std::string& path_variable);

}  // namespace pl::worker
