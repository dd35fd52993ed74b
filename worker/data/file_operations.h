// The file_ops operations: copy, move, delete, list, validate, convert, confined to the run's
// workspace (and its output directory for "output:" paths). This is the effectful edge of
// worker/data: everything it decides is read from a FileOpsRequest (file_request.h), every path
// goes through Workspace::resolve (workspace.h), every file it creates is written with
// write_file_atomic.
//
// Each operation first makes a plan (resolving and checking every path, walking directories,
// counting entries and bytes against the limits) and only then changes anything, so a refused
// path or a limit leaves the disk as it was. A failure of the operating system half-way (disk
// full, permission denied) can leave part of the work done; the error says where it stopped.
//
// Behaviour, in short (docs/data-steps.md has examples):
//   copy     files; directories with `recursive: true` (symbolic links inside are copied as
//            the files or directories they point at when those are inside the root, refused
//            otherwise; one pointing inside at nothing is skipped and listed in `skipped`);
//            globs in `source`; with `pattern`, the matching files under the one source
//            directory, keeping their relative paths. Existing files are replaced.
//   move     files and directories (rename; across file systems: copy, a directory whole,
//            then delete). Symbolic links are refused, inside a moved directory too, since a
//            moved relative link would point somewhere else.
//   delete   files, symbolic links (the link, never its target) and directories (non-empty
//            ones need `recursive: true`); never a root or a directory holding a root. A glob
//            that matches nothing deletes nothing; a plain path that does not exist is kNotFound.
//   list     entries of `path` ({path, size, type}, sorted, depth first); `recursive` descends;
//            `pattern` keeps matches (a pattern without "/" matches names at any depth;
//            without `recursive`, one with "/" reaches as deep as it has segments).
//   validate every `files` check; the step fails (kStepFailed) listing each check that failed.
//   convert  csv_to_json / json_to_csv (csv.h) from one file to another.
// Destination rules of copy and move: with one plain source (a string), `destination` is the
// new path, unless it ends in "/" or is an existing directory, in which case the source goes
// inside it; with several sources (a list, even of one path, a glob, a pattern) `destination`
// is a directory (created when missing) and each source keeps its name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>

#include "common/result.h"
#include "common/value.h"
#include "worker/data/file_request.h"
#include "worker/data/workspace.h"

namespace pl::worker::data {

struct FileOpsLimits {
  uint64_t max_file_bytes = 64ull << 20;    // one file read by copy or convert
  uint64_t max_total_bytes = 512ull << 20;  // all the bytes one copy writes
  size_t max_entries = 10000;               // entries one step lists, copies, moves or deletes;
                                            // 100 times as many may be looked at while walking
  size_t max_depth = 64;                    // directory levels walked below a path
};

// Says whether to give up (cancelled, deadline passed); checked between entries.
using FileStopCheck = std::function<bool()>;

// rename(2): 0, or -1 with errno set. A seam for tests: a fake failing with EXDEV takes move's
// copy-then-delete path without a second file system. Empty means ::rename.
using FileRename = std::function<int(const std::filesystem::path& from,
                                     const std::filesystem::path& to)>;

// Runs the request. Returns the step's `data`:
//   copy      {operation, copied: [{source, destination}], files, bytes}, and
//             skipped: [{path, reason}] when a copied directory held dangling links
//   move      {operation, moved: [{source, destination}], count}
//   delete    {operation, deleted: [path], count}
//   list      {operation, path, files: [{path, size, type}], count}
//   validate  {operation, valid: true, results: [{path, exists, type, size}]}
//   convert   {operation, format, source, destination, records}
// Paths in results are written as a step would write them ("dir/a.txt", "output:x"). `type` is
// "file", "directory", "symlink" or "other"; `size` is bytes for files (and a link's own size),
// 0 for directories. Errors start with "file_ops (<operation>): " and are kInvalidInput
// (refused paths, wrong kinds of file), kNotFound, kTooLarge (a limit; the message names it),
// kStepFailed (validate), kIo (the system refused), kCancelled.
[[nodiscard]] Result<Value> run_file_operation(const FileOpsRequest& request,
                                               const Workspace& workspace,
                                               const FileOpsLimits& limits = {},
                                               const FileStopCheck& stop = {},
                                               const FileRename& rename = {});

}  // namespace pl::worker::data
