// Small file-system helpers with explicit durability.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pl {

// Replaces `path` with `data` so that a reader sees the old file or the new one, never a part:
// writes a temporary file in the same directory, fsyncs it, renames it over `path`, then fsyncs
// the directory. Creates missing parent directories. On failure `path` is untouched and the
// temporary file is removed.
Status write_file_atomic(const std::filesystem::path& path, std::string_view data,
                         int mode = 0644);

// Reads a whole file; kTooLarge when it is over max_bytes, kNotFound when it does not exist.
Result<std::string> read_file(const std::filesystem::path& path,
                              size_t max_bytes = 64 * 1024 * 1024);

// Creates `dir` (and parents) if missing and makes it mode 0700. Fails when it exists and is
// not a directory, or is owned by someone else.
Status ensure_private_dir(const std::filesystem::path& dir);

// An absolute, lexically normal form of p (relative to the current directory).
std::filesystem::path absolute_path(const std::filesystem::path& p);

}  // namespace pl
