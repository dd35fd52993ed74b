// Confinement of paths to a run's workspace: what keeps tools (and file operations) inside it.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/result.h"

namespace pl::worker {

// The workspace directory as the real path that confinement compares against: created when
// missing (a run's workspace is ours to make), then resolved with realpath. kInvalidInput when
// `dir` is empty or relative; kIo when it cannot be made or resolved.
Result<std::filesystem::path> open_workspace(const std::filesystem::path& dir);

// Resolves `path`, given relative to `base`, and checks that it stays inside `workspace`.
// Symlinks in the part that exists are followed (realpath); ".." in the part that does not
// exist yet is applied lexically. The result is absolute and normal.
// kInvalidInput, naming `path`, when it is empty, absolute, holds a NUL byte, or resolves
// outside the workspace ("../x" climbing out, a symlink pointing out).
// REQUIRES: `workspace` is a real path (open_workspace); `base` is inside it.
Result<std::filesystem::path> resolve_in_workspace(const std::filesystem::path& workspace,
                                                   const std::filesystem::path& base,
                                                   std::string_view path);

// Whether `inner` is `outer` or below it, comparing normal absolute paths component-wise.
bool is_within(const std::filesystem::path& outer, const std::filesystem::path& inner);

}  // namespace pl::worker
