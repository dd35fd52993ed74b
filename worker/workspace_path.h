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

// Resolves `path`, given relative to `base`, and checks that it stays inside `workspace`,
// with the walk file_ops uses (data::walk_path, worker/data/workspace.h): segment by segment,
// every symbolic link read and followed as the kernel would, a dangling one included (its
// target is resolved against its directory, so "escape -> /elsewhere/new" is refused though
// nothing exists there yet); ".." steps up from where the walk is. Both the path with its last
// link followed (what a tool writing it reaches) and the last link itself (what `rm` acts on)
// must lie inside. The result is absolute and normal, links resolved.
// kInvalidInput, naming `path`, when it is empty, absolute, holds a NUL byte, climbs out
// ("../x": "leaves the run's workspace"), leads out through a symbolic link ("... through a
// symbolic link"), or has more than 40 links on it (a loop). kIo when lstat/readlink fail.
//
// What this does not cover: the check runs before the tool starts and hands the tool a path
// string, not an open file. A link made after the check (by the tool itself, `ln -s /etc x &&
// tee x`, or by anything else writing the workspace meanwhile) is not seen, and no
// O_NOFOLLOW, openat2(RESOLVE_BENEATH), mount namespace or seccomp confines the tool's own
// system calls: it runs as the worker's uid with only rlimits, a process group and a clean
// environment (child_process.h). The check stops links already in the workspace (a checked-out
// repo, an extracted archive, an earlier step) from turning an argument into a path outside;
// the tool programs themselves must be trusted (docs/registry.md, "Known limits").
// REQUIRES: `workspace` is a real path (open_workspace); `base` is a real path inside it.
Result<std::filesystem::path> resolve_in_workspace(const std::filesystem::path& workspace,
                                                   const std::filesystem::path& base,
                                                   std::string_view path);

// Whether `inner` is `outer` or below it, comparing normal absolute paths component-wise.
bool is_within(const std::filesystem::path& outer, const std::filesystem::path& inner);

}  // namespace pl::worker
