// Integration-test support: real processes, real files, and waits that always have a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pl::test {

using namespace std::chrono_literals;

// A fresh directory under /tmp with a short name (ipc:// paths must stay under 107 bytes),
// removed with everything in it when the TempDir is destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Where our binaries are: $PIPELINE_BIN_DIR (CTest sets it), else beside the test executable.
std::filesystem::path bin_dir();
// The repository root, for configs and example pipelines.
std::filesystem::path source_dir();
// bin_dir() / name.
std::string binary(const std::string& name);

struct SpawnOptions {
  std::vector<std::string> env;         // "KEY=VALUE" entries added to (or replacing in) ours
  std::vector<std::string> unset_env;   // names removed from the environment
  std::filesystem::path stdout_file;    // "" = inherit
  std::filesystem::path stderr_file;    // "" = inherit
  std::filesystem::path cwd;            // "" = ours
};

// A child process in its own process group. Destroying a Process that still runs SIGKILLs its
// whole group and reaps it, so a failing test leaves nothing behind.
class Process {
 public:
  // Starts argv[0] (a path) with the rest as arguments. Aborts the test on failure to start.
  static Process spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  ~Process();

  pid_t pid() const { return pid_; }
  // false once the process has been reaped (its pid may have been reused).
  bool signal(int sig) const;
  bool signal_group(int sig) const;
  // The exit code (0..255), or 128 + the signal that killed it; nullopt if it still runs when
  // the timeout passes.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool exited() const { return exit_code_.has_value(); }

 private:
  Process() = default;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

struct CommandResult {
  int exit_code = -1;  // as Process::wait; -1 when it timed out (and was killed)
  std::string out;
  std::string err;
};

// Runs a command to completion (killing it at the timeout), capturing both output streams.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = 60s,
                          const SpawnOptions& options = {});

// Checks `condition` until it holds or `timeout` passes; true if it held. The interval is short
// (a few ms): this waits for an event we cannot be told about, it does not sleep for a guess.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Whether pid names a live process (zombies count as dead).
bool process_alive(pid_t pid);
// Every live process whose environment contains `entry` ("KEY=VALUE"). Tag a tree with a
// unique variable to find all its descendants, orphans included.
std::vector<pid_t> processes_with_env(const std::string& entry);

// The whole content of a file, or "" when it cannot be read.
std::string read_text(const std::filesystem::path& path);

// A tmpfs of the test's own at `at` (created), unmounted when destroyed: a small disk to fill.
// Mounting needs root on a machine that allows it (not every container does): mounted() says
// whether it worked, and error() why not.
class SmallFileSystem {
 public:
  SmallFileSystem(const std::filesystem::path& at, const std::string& size);  // size: "4m"
  ~SmallFileSystem();
  SmallFileSystem(const SmallFileSystem&) = delete;
  SmallFileSystem& operator=(const SmallFileSystem&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  // A new size for it, the files on it kept.
  bool grow(const std::string& size);
  // Writes a file until the file system is full; returns its path.
  std::filesystem::path fill();

 private:
  std::filesystem::path at_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace pl::test
