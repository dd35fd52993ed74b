// FileOpsRequest: a file_ops step's options read into typed form, checked before anything on
// disk is touched. Pure.
//
// The keys (as the loader's schema accepts them) and which operation takes which:
//   copy, move   source (a path or a list; globs allowed), destination, pattern, recursive
//   delete       path, files, source (paths or globs; at least one), pattern, recursive
//   list         path, pattern, recursive
//   validate     files (paths, or maps {path, must_exist, must_be_dir, min_size, max_size})
//   convert      source, destination, format (csv_to_json or json_to_csv)
// A file_ops key given to an operation that does not take it is an error naming both; keys
// outside this vocabulary are left to others (the loader rejects unknown ones).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "worker/data/file_paths.h"

namespace pl::worker::data {

inline constexpr size_t kMaxPathsPerStep = 1000;  // entries of `source` or `files`

enum class FileOperation { kCopy, kMove, kDelete, kList, kValidate, kConvert };
enum class Conversion { kCsvToJson, kJsonToCsv };

std::string_view operation_name(FileOperation op);
std::string_view conversion_name(Conversion c);

// One `files` entry of validate. A plain string means {path, must_exist: true}.
struct FileCheck {
  UserPath path;
  bool must_exist = true;           // false: the path must NOT exist
  std::optional<bool> must_be_dir;  // true: a directory; false: not a directory
  std::optional<int64_t> min_size;  // bytes; the path must be a regular file
  std::optional<int64_t> max_size;  // bytes; the path must be a regular file
};

struct FileOpsRequest {
  FileOperation operation = FileOperation::kList;
  std::vector<UserPath> sources;        // copy, move, convert, delete (path + files + source)
  bool source_is_list = false;          // copy, move: `source` was a list, even of one path
                                        // (its destination is then a directory)
  std::optional<UserPath> destination;  // copy, move, convert
  std::optional<UserPath> path;         // list
  std::vector<FileCheck> checks;        // validate
  Conversion format = Conversion::kCsvToJson;
  std::optional<std::vector<std::string>> pattern;  // parsed glob segments
  std::string pattern_text;
  bool recursive = false;
};

// Reads the options. Errors (kInvalidInput) name the key: a missing required key, a key the
// operation does not take, a wrong kind, a bad path (file_paths.h), a bad `files` entry,
// more than kMaxPathsPerStep paths (kTooLarge). convert refuses globs in its paths; copy and
// move with `pattern` need exactly one source (the directory the pattern searches).
[[nodiscard]] Result<FileOpsRequest> parse_file_ops_request(const Value& input);

}  // namespace pl::worker::data
