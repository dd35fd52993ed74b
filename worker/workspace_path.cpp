#include "worker/workspace_path.h"

#include <algorithm>
#include <string>
#include <system_error>
#include <vector>

#include "worker/data/workspace.h"

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

namespace {

// "a//b/./../c" as segments: empty and "." ones dropped, ".." kept (the walk applies it).
std::vector<std::string> path_segments(std::string_view path) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t slash = path.find('/', begin);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view segment = path.substr(begin, slash - begin);
    if (!segment.empty() && segment != ".") out.emplace_back(segment);
    begin = slash + 1;
  }
  return out;
}

}  // namespace

Result<fs::path> resolve_in_workspace(const fs::path& workspace, const fs::path& base,
                                      std::string_view path) {
  const std::string shown(path);
  auto refuse = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidInput, "path \"" + shown + "\" " + why);
  };
  if (path.empty()) return refuse("is empty");
  if (path.find('\0') != std::string_view::npos) return refuse("holds a NUL byte");
  if (path.front() == '/') return refuse("is absolute; paths are relative to the run's workspace");
  // Said apart from links, as the likelier mistake: "../x" climbing out as written.
  if (!is_within(workspace, (base / fs::path(shown)).lexically_normal())) {
    return refuse("leaves the run's workspace");
  }
  // The same segment-by-segment walk as file_ops: every link read, dangling ones too.
  auto walked = data::walk_path(base, path_segments(path), shown);
  if (!walked.ok()) return std::move(walked).error();
  if (!walked->inside(workspace))
    return refuse("leaves the run's workspace through a symbolic link");
  return std::move(walked->followed);
}

}  // namespace pl::worker
