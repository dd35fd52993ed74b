#include "worker/workspace_path.h"

#include <algorithm>
#include <system_error>

namespace pl::worker {
namespace fs = std::filesystem;

Result<fs::path> open_workspace(const fs::path& dir) {
  if (dir.empty() || dir.is_relative()) {
    return make_error(ErrorCode::kInvalidInput,
                      "the run's workspace \"" + dir.string() + "\" is not an absolute path");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "creating the workspace " + dir.string() + ": " + ec.message());
  fs::path real = fs::canonical(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "resolving the workspace " + dir.string() + ": " + ec.message());
  return real;
}

bool is_within(const fs::path& outer, const fs::path& inner) {
  auto o = outer.begin();
  auto i = inner.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing separator
    if (i == inner.end() || *o != *i) return false;
  }
  return true;
}

Result<fs::path> resolve_in_workspace(const fs::path& workspace, const fs::path& base,
                                      std::string_view path) {
  const std::string shown(path);
  auto refuse = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidInput, "path \"" + shown + "\" " + why);
  };
  if (path.empty()) return refuse("is empty");
  if (path.find('\0') != std::string_view::npos) return refuse("holds a NUL byte");
  if (path.front() == '/') return refuse("is absolute; paths are relative to the run's workspace");
  std::error_code ec;
  // weakly_canonical: realpath of the longest existing prefix (symlinks followed), then the
  // rest appended and normalised lexically.
  fs::path resolved = fs::weakly_canonical(base / fs::path(shown), ec);
  if (ec) return refuse("cannot be resolved: " + ec.message());
  if (!is_within(workspace, resolved)) return refuse("leaves the run's workspace");
  return resolved;
}

}  // namespace pl::worker
