// Workspace: the directories a file_ops step may touch, and the one place that turns a path as
// written (file_paths.h) into a real path on disk. "File operations cannot escape the
// workspace" (DESIGN.md §7) is enforced here.
//
// Resolution walks the path one segment at a time from the root's real path (realpath of the
// configured directory), the way the kernel does: each existing segment is lstat'ed; a symbolic
// link is replaced by its target (an absolute target restarts from "/", a relative one
// continues from the link's directory, ".." in a target steps up); the first segment that does
// not exist ends the lookup and the rest is appended as written. The result must lie inside the
// root's real path, else the path is refused, whatever the route it took. More than
// kMaxSymlinkHops links on one path is refused as a loop.
//
// Known limit: the check and the later use are separate system calls, so a process that swaps a
// directory for a symbolic link in between (a tool running in the same workspace at the same
// moment) is not stopped. Steps of one run do not run file operations concurrently with tools
// on the same paths unless a pipeline makes them.
//
// Thread safety: const methods only touch the file system; one Workspace may be shared.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "worker/data/file_paths.h"

namespace pl::worker::data {

inline constexpr int kMaxSymlinkHops = 40;

// Whether the last segment of a path is itself followed when it is a symbolic link.
enum class FollowLast {
  kYes,  // reads and writes go to what the link points at
  kNo,   // delete and move act on the link itself (which must still point inside the root)
};

// Whether a missing root directory is created (for operations that write).
enum class CreateRoot { kNo, kYes };

// Resolves `segments` (names and ".."; "." and empty ones already dropped) from the real
// directory `start` as described above, following the last segment's link or not. `shown` is
// the path as written, for messages. Errors: kInvalidInput for more than kMaxSymlinkHops links,
// kIo when lstat or readlink fails other than for a missing segment.
[[nodiscard]] Result<std::filesystem::path> resolve_segments(
    const std::filesystem::path& start, const std::vector<std::string>& segments, FollowLast follow,
    std::string_view shown);

// Where a path leads, both ways: what reading or writing it reaches (the last link followed)
// and what unlink or rename act on (the last link itself).
struct WalkedPath {
  std::filesystem::path followed;
  std::filesystem::path link;
  // Whether both lie inside `root`: the one confinement rule of file_ops (Workspace::resolve)
  // and of tool arguments (worker/workspace_path.h).
  bool inside(const std::filesystem::path& root) const;
};

// resolve_segments both ways. Links are read even when they point at nothing, so a dangling
// link to a place outside leads outside like any other.
// REQUIRES: `start` is a real path (no links).
[[nodiscard]] Result<WalkedPath> walk_path(const std::filesystem::path& start,
                                           const std::vector<std::string>& segments,
                                           std::string_view shown);

struct ResolvedPath {
  UserPath user;               // as written, normalised
  std::filesystem::path real;  // absolute, symbolic links resolved (as FollowLast says)
  std::filesystem::path root;  // the real path of the root it lies in
  bool is_root() const { return real == root; }
};

// A real path inside a root written back as a user path ("a/b.txt", "output:x", ".").
// REQUIRES: real lies inside root_real (as resolve() guarantees).
std::string display_path(Root root, const std::filesystem::path& root_real,
                         const std::filesystem::path& real);

class Workspace {
 public:
  // Both absolute; output_dir may be empty when the run has none.
  Workspace(std::filesystem::path workspace_dir, std::filesystem::path output_dir);

  // From a work item's context {workspace_dir, output_dir, ...}. Errors (kInvalidInput):
  // workspace_dir missing or not an absolute path; output_dir present but not absolute.
  [[nodiscard]] static Result<Workspace> from_context(const Value& context);

  // Resolves `path` as described above. Errors:
  //   kInvalidInput  the path leads outside its root ("leads outside the workspace through a
  //                  symbolic link"), has too many symbolic links (a loop), or names the output
  //                  directory when the run has none
  //   kNotFound      the root directory does not exist (and CreateRoot::kNo)
  //   kIo            a system call failed (permission denied, ...)
  [[nodiscard]] Result<ResolvedPath> resolve(const UserPath& path, FollowLast follow,
                                             CreateRoot create = CreateRoot::kNo) const;

  // Whether `inner` is `outer` or lies below it (by whole segments). Both absolute and normal.
  static bool is_within(const std::filesystem::path& inner, const std::filesystem::path& outer);

  // The real paths of both roots that exist (for "never delete a root").
  std::vector<std::filesystem::path> existing_roots() const;

 private:
  [[nodiscard]] Result<std::filesystem::path> root_real(Root root, CreateRoot create) const;

  std::filesystem::path workspace_dir_;
  std::filesystem::path output_dir_;
};

}  // namespace pl::worker::data
