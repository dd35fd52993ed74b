#include "supervisor/command_lookup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "common/fs.h"

namespace pl::supervisor {
namespace fs = std::filesystem;
namespace {

bool is_executable_file(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

}  // namespace

CommandLookup CommandLookup::for_this_process() {
  CommandLookup lookup;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) lookup.beside = self.parent_path();
  if (const char* path = std::getenv("PATH")) lookup.path_env = path;
  return lookup;
}

Result<std::string> CommandLookup::resolve(const std::string& name, const fs::path& cwd) const {
  if (name.empty()) return make_error(ErrorCode::kInvalidInput, "the command is empty");
  if (name.find('/') != std::string::npos) {
    const fs::path p = fs::path(name).is_absolute() ? fs::path(name) : cwd / name;
    const fs::path abs = absolute_path(p);
    if (is_executable_file(abs)) return abs.string();
    return make_error(ErrorCode::kNotFound, "command \"" + name + "\" not found: " +
                                                abs.string() + " is not an executable file");
  }
  if (!beside.empty() && is_executable_file(beside / name)) return (beside / name).string();
  size_t start = 0;
  while (start <= path_env.size()) {
    const size_t colon = path_env.find(':', start);
    const std::string dir =
        path_env.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty()) {
      const fs::path candidate = fs::path(dir) / name;
      if (is_executable_file(candidate)) return absolute_path(candidate).string();
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return make_error(ErrorCode::kNotFound, "command \"" + name + "\" not found in " +
                                              (beside.empty() ? std::string("") : beside.string() + " nor in ") +
                                              "PATH");
}

}  // namespace pl::supervisor
