// output_to_file: a step's (or a batch task's) result written under the run's output directory,
// atomically. Strings are written raw, anything else as pretty JSON.
#pragma once

#include <filesystem>
#include <string>

#include "common/pipeline/scope.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::broker {

// Renders `relative` (it may hold templates) against `scope`, confines it to `output_dir`
// (absolute paths and ".." escapes are refused) and writes what `result` holds: its `text`;
// else the file its `text_file` names (a text too large for a result: a batch's consolidated
// text), moved there; else its `data` as JSON; else the whole result as JSON. Returns the path
// written.
Result<std::filesystem::path> write_step_output(const std::filesystem::path& output_dir,
                                                const std::string& relative,
                                                const pipeline::Scope& scope, const Value& result);

}  // namespace pl::broker
