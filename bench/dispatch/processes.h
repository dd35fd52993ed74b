// Child processes for benchmarks: started in their own process group, killed with it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace pl::bench {

class Child {
 public:
  // Starts argv with `env` entries added; output goes to `log` ("" = /dev/null).
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env,
        const std::filesystem::path& log = {});
  ~Child();  // SIGKILL the group and reap
  Child(Child&& other) noexcept;
  Child(const Child&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// /proc/PID/status fields in kB ("VmRSS", "VmHWM"); 0 when unreadable.
long status_kb(pid_t pid, const std::string& field);

// CPU time (user + system, all threads) a process has used so far, in microseconds; 0 when
// unreadable.
int64_t cpu_time_us(pid_t pid);

// A fresh short temporary directory, removed by the destructor.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace pl::bench
