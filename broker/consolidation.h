// claude_batch's consolidate_results: the text of every task that succeeded, in task order, as
// "## ID\n\nTEXT\n\n" sections, built as the tasks finish.
//
// Tasks finish in any order; a section waits until every task before it has finished (so what
// waits is what finishes while the earliest running task still runs, which its timeout bounds).
// The text is kept in memory while it is small enough to be the step's `text`; once it outgrows
// that, it is written as it grows to a file (AtomicFile: it appears, whole, only at finish()),
// so that a batch of any size keeps all of it instead of dropping it with its items.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "common/fs.h"
#include "common/result.h"

namespace pl::broker {

class Consolidation {
 public:
  // The text goes to `file` once it is over `max_bytes`.
  Consolidation(std::filesystem::path file, size_t max_bytes);

  // Task `index` finished: `section` is what it adds, empty when it failed.
  void add(size_t index, std::string section);

  struct Outcome {
    std::string text;     // the whole text, when it stayed in memory
    bool in_file = false;  // else it is in file(), committed
    uint64_t bytes = 0;
  };
  // No more tasks finish: the sections still waiting for a task that never finished are added
  // in order, and a file is committed. An error when the file could not be written.
  Result<Outcome> finish();
  const std::filesystem::path& file() const { return path_; }

 private:
  void append(std::string_view section);

  std::filesystem::path path_;
  size_t max_bytes_;
  size_t next_ = 0;                        // the first task whose section is not added yet
  std::map<size_t, std::string> waiting_;  // sections of tasks that finished after it
  std::string text_;
  std::optional<AtomicFile> file_;  // once the text outgrew max_bytes_
  uint64_t bytes_ = 0;
  Status status_;  // the first error writing the file
};

}  // namespace pl::broker
