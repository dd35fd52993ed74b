// The lines of a claude_batch `tasks_file`, checked as the entries of an inline `tasks` list
// are when the pipeline is loaded: the same table of keys (schema.h, through SchemaChecker:
// unknown keys with the nearest known name, a missing prompt, values of the wrong kind,
// prompt parts, claude_options), exactly one of task_id and id, and no id used twice.
//
// A file of a million tasks is read as the batch runs, a line at a time, so a line is checked
// when it is read: a bad line fails its task, naming FILE:LINE:COLUMN, and the other tasks run.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "common/value.h"

namespace pl::broker {

class TaskLineCheck {
 public:
  // The task on the line `text` at `file`:`line`, its values read as an inline task's are (an
  // id written as a number is its text); or an error naming FILE:LINE[:COLUMN] for each problem.
  Result<Value> read(std::string_view text, const std::string& file, size_t line);

 private:
  // A hash of each task id seen -> the line that has it. Hashes, not the ids: for a file of a
  // million tasks the ids took 78 MB of the broker, the hashes take 47 MB. Two ids of one
  // 64-bit hash (odds about 1 in 40 million in a file of a million tasks) would make a false
  // "duplicate", whose message names both lines.
  std::unordered_map<uint64_t, uint32_t> ids_;
  bool warned_ = false;  // about keys accepted but ignored: once per file
};

}  // namespace pl::broker
