#include "worker/data/workspace.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <memory>

namespace pl::worker::data {
namespace fs = std::filesystem;
namespace {

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

Result<std::string> read_link(const fs::path& link) {
  std::string buf(256, '\0');
  for (;;) {
    const ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size());
    if (n < 0) return errno_error("readlink " + link.string(), errno);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (buf.size() >= 65536) {
      return make_error(ErrorCode::kIo, "readlink " + link.string() + ": target too long");
    }
    buf.resize(buf.size() * 2);
  }
}

// Appends the segments of `text` to the front of `pending` (in order).
void push_front_segments(std::deque<std::string>& pending, std::string_view text) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (start <= text.size()) {
    size_t slash = text.find('/', start);
    if (slash == std::string_view::npos) slash = text.size();
    std::string_view segment = text.substr(start, slash - start);
    if (!segment.empty() && segment != ".") segments.emplace_back(segment);
    start = slash + 1;
  }
  pending.insert(pending.begin(), segments.begin(), segments.end());
}

}  // namespace

std::string display_path(Root root, const fs::path& root_real, const fs::path& real) {
  UserPath user;
  user.root = root;
  const fs::path relative = real.lexically_relative(root_real);
  for (const fs::path& part : relative) {
    if (part != ".") user.segments.push_back(part.string());
  }
  return user.text();
}

Workspace::Workspace(fs::path workspace_dir, fs::path output_dir)
    : workspace_dir_(std::move(workspace_dir)), output_dir_(std::move(output_dir)) {}

Result<Workspace> Workspace::from_context(const Value& context) {
  const Value* workspace = context.find("workspace_dir");
  if (!workspace || !workspace->is_string() || workspace->as_string().empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "the work item's context has no workspace_dir; file_ops needs one");
  }
  const fs::path workspace_dir(workspace->as_string());
  if (!workspace_dir.is_absolute()) {
    return make_error(ErrorCode::kInvalidInput, "the context's workspace_dir " +
                                                    quote(workspace->as_string()) +
                                                    " is not an absolute path");
  }
  fs::path output_dir;
  if (const Value* output = context.find("output_dir"); output && !output->is_null()) {
    if (!output->is_string() || !fs::path(output->as_string()).is_absolute()) {
      return make_error(ErrorCode::kInvalidInput,
                        "the context's output_dir is not an absolute path");
    }
    output_dir = output->as_string();
  }
  return Workspace(workspace_dir.lexically_normal(),
                   output_dir.empty() ? output_dir : output_dir.lexically_normal());
}

bool Workspace::is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing slash of `outer`
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

Result<fs::path> Workspace::root_real(Root root, CreateRoot create) const {
  const fs::path& dir = root == Root::kOutput ? output_dir_ : workspace_dir_;
  if (dir.empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "this run has no output directory, so \"output:\" paths cannot be used");
  }
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<char, decltype(&::free)> real(::realpath(dir.c_str(), nullptr), &::free);
    if (real) return fs::path(real.get());
    const int err = errno;
    if (err == ENOENT && create == CreateRoot::kYes && attempt == 0) {
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec) {
        return make_error(ErrorCode::kIo, "create the " + std::string(root_name(root)) + " " +
                                              dir.string() + ": " + ec.message());
      }
      continue;
    }
    if (err == ENOENT) {
      return make_error(ErrorCode::kNotFound, "the " + std::string(root_name(root)) + " " +
                                                  dir.string() + " does not exist");
    }
    return errno_error("resolve the " + std::string(root_name(root)) + " " + dir.string(), err);
  }
}

std::vector<fs::path> Workspace::existing_roots() const {
  std::vector<fs::path> out;
  for (Root root : {Root::kWorkspace, Root::kOutput}) {
    auto real = root_real(root, CreateRoot::kNo);
    if (real.ok()) out.push_back(*real);
  }
  return out;
}

Result<fs::path> resolve_segments(const fs::path& start, const std::vector<std::string>& segments,
                                  FollowLast follow, std::string_view shown) {
  fs::path current = start;
  std::deque<std::string> pending(segments.begin(), segments.end());
  int hops = 0;
  bool missing = false;  // a segment did not exist: the rest is appended as written
  while (!pending.empty()) {
    std::string segment = std::move(pending.front());
    pending.pop_front();
    if (segment == "..") {  // `current` is real up to here, so this is the kernel's ".."
      current = current.parent_path();
      continue;
    }
    fs::path next = current / segment;
    if (missing) {
      current = std::move(next);
      continue;
    }
    struct stat st {};
    if (::lstat(next.c_str(), &st) != 0) {
      const int err = errno;
      if (err != ENOENT && err != ENOTDIR) {
        return errno_error("path " + quote(shown) + ": lstat " + next.string(), err);
      }
      missing = true;
      current = std::move(next);
      continue;
    }
    const bool last = pending.empty();
    // A link is read whether or not its target exists: a dangling one still names the place
    // that a write through it would create.
    if (S_ISLNK(st.st_mode) && (!last || follow == FollowLast::kYes)) {
      if (++hops > kMaxSymlinkHops) {
        return make_error(ErrorCode::kInvalidInput, "path " + quote(shown) +
                                                        " has too many levels of symbolic links "
                                                        "(a loop?)");
      }
      auto target = read_link(next);
      if (!target.ok()) return std::move(target).error();
      if (!target->empty() && (*target)[0] == '/') current = "/";
      push_front_segments(pending, *target);
      continue;
    }
    current = std::move(next);
  }
  return current;
}

Result<WalkedPath> walk_path(const fs::path& start, const std::vector<std::string>& segments,
                             std::string_view shown) {
  auto followed = resolve_segments(start, segments, FollowLast::kYes, shown);
  if (!followed.ok()) return std::move(followed).error();
  auto link = resolve_segments(start, segments, FollowLast::kNo, shown);
  if (!link.ok()) return std::move(link).error();
  return WalkedPath{std::move(*followed), std::move(*link)};
}

bool WalkedPath::inside(const fs::path& root) const {
  // The link itself too: unlink or rename act on it, and the directories leading to it may
  // point out even when the link points back in.
  return Workspace::is_within(followed, root) && Workspace::is_within(link, root);
}

Result<ResolvedPath> Workspace::resolve(const UserPath& path, FollowLast follow,
                                        CreateRoot create) const {
  auto root = root_real(path.root, create);
  if (!root.ok()) return std::move(root).error();
  auto walked = walk_path(*root, path.segments, path.text());
  if (!walked.ok()) return std::move(walked).error();
  // Acting on the link itself (unlink, rename over it) touches only where it is, never what it
  // points to: a link to outside, inside the workspace, may be deleted.
  const bool inside = follow == FollowLast::kYes ? walked->inside(*root)
                                                 : Workspace::is_within(walked->link, *root);
  if (!inside) {
    return make_error(ErrorCode::kInvalidInput,
                      "path " + quote(path.text()) + " leads outside the " +
                          std::string(root_name(path.root)) + " through a symbolic link");
  }
  fs::path real =
      follow == FollowLast::kYes ? std::move(walked->followed) : std::move(walked->link);
  return ResolvedPath{path, std::move(real), *root};
}

}  // namespace pl::worker::data
