// cgroup v2 memory bounds for children, when the supervisor's own cgroup is delegated to it
// (systemd's Delegate=yes, or a container that hands its cgroup over).
//
// The supervisor's cgroup D (from /proc/self/cgroup's "0::" line, under the cgroup2 mount found
// in /proc/self/mountinfo) is usable when it is not the root, lists `memory` in
// cgroup.controllers, and we may write cgroup.subtree_control, cgroup.procs and create
// directories in it. Taking it over follows the "no internal processes" rule: every process in D
// (the supervisor, its guard) moves to D/supervisor, then `+memory` is enabled in
// D/cgroup.subtree_control. A child with a max_memory gets D/child_<full name> with memory.max
// and memory.oom.group = 1 (the kernel kills its whole group at once); the spawner moves the
// child there before exec through an open cgroup.procs descriptor, so nothing runs outside it.
//
// When the cgroup is not usable, detection says why and the supervisor watches RSS instead.
// Not thread-safe. Paths are parameters, so that tests run it on a directory tree that looks
// like cgroupfs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/result.h"
#include "supervisor/unique_fd.h"

namespace pl::supervisor {

// The unified (v2) cgroup path of a /proc/PID/cgroup text ("/system.slice/pipeline.service"),
// or nullopt when there is no "0::" line.
std::optional<std::string> unified_cgroup_path(std::string_view proc_cgroup);
// The mount point of the cgroup2 file system in a /proc/PID/mountinfo text, or nullopt.
std::optional<std::string> cgroup2_mount_point(std::string_view mountinfo);

class ChildCgroups {
 public:
  // The supervisor's cgroup directory, if it is delegated to us; an Error saying why not.
  static Result<std::filesystem::path> find_delegated(
      const std::filesystem::path& proc_self_cgroup = "/proc/self/cgroup",
      const std::filesystem::path& mountinfo = "/proc/self/mountinfo");

  // Takes `dir` over as described above. On failure nothing is enabled (processes already
  // moved to dir/supervisor stay there, which is harmless).
  static Result<ChildCgroups> take_over(const std::filesystem::path& dir);

  ChildCgroups(ChildCgroups&&) = default;
  ChildCgroups& operator=(ChildCgroups&&) = default;
  ~ChildCgroups();

  const std::filesystem::path& dir() const { return dir_; }

  // Creates (or reuses) the child's cgroup, sets memory.max to `max_bytes` and returns its
  // cgroup.procs opened for writing (close-on-exec): the spawner writes "0" to it in the child.
  Result<UniqueFd> prepare(const std::string& child_name, uint64_t max_bytes);
  // How many times the kernel's OOM killer acted in the child's cgroup (memory.events oom_kill);
  // nullopt when unknown.
  std::optional<uint64_t> oom_kills(const std::string& child_name) const;
  // The child's cgroup's memory.current, for metrics; an Error when it cannot be read.
  Result<uint64_t> memory_current(const std::string& child_name) const;
  // Removes the children's cgroups (those still holding a process are left).
  void remove_all();

 private:
  explicit ChildCgroups(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path child_dir(const std::string& child_name) const;

  std::filesystem::path dir_;
  std::set<std::string> made_;  // child names whose cgroup we created
};

}  // namespace pl::supervisor
