#include "supervisor/child_cgroups.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "common/fs.h"

namespace pl::supervisor {
namespace fs = std::filesystem;
namespace {

Result<std::string> read_small(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open " + path.string(), errno);
  std::string text;
  char buf[4096];
  for (int i = 0; i < 64; ++i) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return errno_error("read " + path.string(), err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

// cgroupfs files exist as soon as their directory does and take one write each; O_CREAT and
// O_TRUNC change nothing there, and let the same code run on plain files (tests).
Status write_small(const fs::path& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return errno_error("open " + path.string(), errno);
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return errno_error("write \"" + std::string(text) + "\" to " + path.string(),
                       n < 0 ? err : EIO);
  }
  return ok_status();
}

bool has_word(std::string_view text, std::string_view word) {
  std::istringstream in{std::string(text)};
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  if (i == 0) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::string> unified_cgroup_path(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, 3) == "0::") return std::string(line.substr(3));
  }
  return std::nullopt;
}

std::optional<std::string> cgroup2_mount_point(std::string_view text) {
  // "36 25 0:31 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw": the mount point is
  // the 5th field; the file system type follows the " - " separator.
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string line(text.substr(pos, end - pos));
    pos = end + 1;
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream after(line.substr(dash + 3));
    std::string type;
    after >> type;
    if (type != "cgroup2") continue;
    std::istringstream before(line.substr(0, dash));
    std::string field, mount;
    for (int i = 0; i < 5 && before >> field; ++i) mount = field;
    if (!mount.empty()) return mount;
  }
  return std::nullopt;
}

Result<fs::path> ChildCgroups::find_delegated(const fs::path& proc_self_cgroup,
                                              const fs::path& mountinfo) {
  auto cgroup_text = read_small(proc_self_cgroup);
  if (!cgroup_text.ok()) return std::move(cgroup_text).error();
  auto path = unified_cgroup_path(*cgroup_text);
  if (!path) return make_error(ErrorCode::kNotFound, "no cgroup v2 hierarchy for this process");
  if (*path == "/" || path->empty()) {
    return make_error(ErrorCode::kNotFound, "the supervisor runs in the root cgroup");
  }
  auto mounts = read_small(mountinfo);
  if (!mounts.ok()) return std::move(mounts).error();
  auto mount = cgroup2_mount_point(*mounts);
  if (!mount) return make_error(ErrorCode::kNotFound, "no cgroup2 file system is mounted");
  const fs::path dir = fs::path(*mount) / path->substr(1);
  auto controllers = read_small(dir / "cgroup.controllers");
  if (!controllers.ok()) return std::move(controllers).error();
  if (!has_word(*controllers, "memory")) {
    return make_error(ErrorCode::kNotFound,
                      dir.string() + " has no memory controller (cgroup.controllers: " +
                          std::string(*controllers).substr(0, controllers->find('\n')) + ")");
  }
  for (const char* name : {"cgroup.procs", "cgroup.subtree_control"}) {
    if (::access((dir / name).c_str(), W_OK) != 0) {
      return make_error(ErrorCode::kNotFound,
                        dir.string() + " is not delegated to us (" + name + " is not writable)");
    }
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return make_error(ErrorCode::kNotFound, dir.string() + " is not writable");
  }
  return dir;
}

Result<ChildCgroups> ChildCgroups::take_over(const fs::path& dir) {
  const fs::path leaf = dir / "supervisor";
  if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
    return errno_error("mkdir " + leaf.string(), errno);
  }
  auto procs = read_small(dir / "cgroup.procs");
  if (!procs.ok()) return std::move(procs).error();
  std::istringstream in(*procs);
  std::string pid;
  while (in >> pid) {
    auto moved = write_small(leaf / "cgroup.procs", pid);
    // A process that exited meanwhile is gone from the list anyway.
    if (!moved.ok() && ::access(("/proc/" + pid).c_str(), F_OK) == 0) {
      return std::move(moved).error();
    }
  }
  if (auto enabled = write_small(dir / "cgroup.subtree_control", "+memory"); !enabled.ok()) {
    return std::move(enabled).error();
  }
  return ChildCgroups(dir);
}

ChildCgroups::~ChildCgroups() = default;

fs::path ChildCgroups::child_dir(const std::string& child_name) const {
  return dir_ / ("child_" + child_name);
}

Result<UniqueFd> ChildCgroups::prepare(const std::string& child_name, uint64_t max_bytes) {
  const fs::path d = child_dir(child_name);
  if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) {
    return errno_error("mkdir " + d.string(), errno);
  }
  made_.insert(child_name);
  if (auto st = write_small(d / "memory.max", std::to_string(max_bytes)); !st.ok()) {
    return std::move(st).error();
  }
  // Best effort: without it the kernel kills one process of the group, which still ends the
  // child's main process or leaves the rest to its process-group kill.
  (void)write_small(d / "memory.oom.group", "1");
  const int fd = ::open((d / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC | O_CREAT, 0644);
  if (fd < 0) return errno_error("open " + (d / "cgroup.procs").string(), errno);
  return UniqueFd(fd);
}

std::optional<uint64_t> ChildCgroups::oom_kills(const std::string& child_name) const {
  auto text = read_small(child_dir(child_name) / "memory.events");
  if (!text.ok()) return std::nullopt;
  std::istringstream in(*text);
  std::string key, value;
  while (in >> key >> value) {
    if (key == "oom_kill") return parse_u64(value);
  }
  return std::nullopt;
}

Result<uint64_t> ChildCgroups::memory_current(const std::string& child_name) const {
  const fs::path file = child_dir(child_name) / "memory.current";
  auto text = read_small(file);
  if (!text.ok()) return std::move(text).error();
  auto v = parse_u64(*text);
  if (!v) return make_error(ErrorCode::kIo, file.string() + " does not hold a number");
  return *v;
}

void ChildCgroups::remove_all() {
  for (const auto& name : made_) ::rmdir(child_dir(name).c_str());
  made_.clear();
}

}  // namespace pl::supervisor
