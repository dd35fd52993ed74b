// Paths as file_ops steps write them, and glob patterns. Pure: no file system access.
//
// A path names a place under one of two roots: the run's workspace (the default) or, with the
// prefix "output:", the run's output directory ("output:reports/a.json"). It is relative to its
// root: absolute paths and ".." segments are refused here, before anything is looked up; "."
// segments and repeated slashes are dropped. (Symbolic links are checked when the path is
// resolved: workspace.h.)
//
// Glob patterns match paths relative to a directory, segment by segment (split at "/"):
//   *        any run of characters except "/"
//   ?        one character except "/"
//   [abc] [a-z] [!a]   one character of (not of) a set
//   **       a whole segment: any number of segments, none included
// A name starting with "." is matched only by a pattern segment that starts with "." (so "*"
// and "**" skip hidden files and directories), as in the shell.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pl::worker::data {

inline constexpr size_t kMaxPathBytes = 4096;
inline constexpr std::string_view kOutputPrefix = "output:";

enum class Root { kWorkspace, kOutput };

// "workspace" or "output directory", for messages.
std::string_view root_name(Root root);

struct UserPath {
  Root root = Root::kWorkspace;
  std::vector<std::string> segments;  // empty: the root itself
  bool trailing_slash = false;        // "dir/": the caller meant a directory
  bool has_wildcards = false;         // some segment has * ? or [

  // The normal spelling: "a/b.txt", "output:a/b.txt", "." for the workspace, "output:" for the
  // output directory.
  std::string text() const;
};

// Parses a path as written in a step. Errors (kInvalidInput) say what is wrong and that paths
// are confined: empty, longer than kMaxPathBytes, holding a NUL byte, absolute, or with a ".."
// segment.
[[nodiscard]] Result<UserPath> parse_user_path(std::string_view text);

// Whether a segment has glob characters (* ? [).
bool has_glob_characters(std::string_view segment);

// Whether `path` (segments relative to the directory the pattern is applied to) matches the
// pattern's segments, as described above.
bool glob_match(const std::vector<std::string>& pattern, const std::vector<std::string>& path);

// Splits "a/b/c" at slashes, dropping empty and "." segments.
std::vector<std::string> split_segments(std::string_view text);

// Checks a glob pattern given on its own (file_ops `pattern`): not empty, not absolute, no ".."
// segment, at most kMaxPathBytes. Errors (kInvalidInput) say which.
[[nodiscard]] Result<std::vector<std::string>> parse_pattern(std::string_view text);

}  // namespace pl::worker::data
