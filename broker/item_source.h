// Where a loop's or a batch's elements come from: a list already in memory, or a JSONL file
// read one line at a time, so that a million-line file is never held in memory at once.
//
// Elements are numbered from 0 in order (blank lines in a file are skipped and not numbered),
// which keeps item ids stable when a run is recovered and its file read again.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/value.h"

namespace pl::broker {

class ItemSource {
 public:
  virtual ~ItemSource() = default;
  // How many elements there are (known before the first is read).
  virtual size_t total() const = 0;
  // The next element; nullopt when there are no more. An element that cannot be read (a line
  // that is not JSON, too long, or refused by the source's LineReader) is an error naming
  // file:line, and that element's only: the next call reads the one after (element_error()
  // holds). Any other error (the file cannot be read) ends the source.
  virtual Result<std::optional<Value>> next() = 0;
};

// Whether `error`, from ItemSource::next(), concerns one element only.
bool element_error(const Error& error);

std::unique_ptr<ItemSource> list_source(Value list);

// How a JSONL line becomes an element: `text` is line number `line` (from 1) of `file`. An
// error (kInvalidInput) fails that element only, and should name FILE:LINE. The default parses
// JSON.
using LineReader =
    std::function<Result<Value>(std::string_view text, const std::string& file, size_t line)>;

// Opens `path` and counts its elements in one streaming pass. Lines longer than
// `max_line_bytes` are errors.
Result<std::unique_ptr<ItemSource>> jsonl_file_source(const std::filesystem::path& path,
                                                      LineReader reader = {},
                                                      size_t max_line_bytes = 16 * 1024 * 1024);

}  // namespace pl::broker
