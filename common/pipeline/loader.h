// Loading pipeline files: YAML text -> a checked Pipeline, or diagnostics saying why not.
//
// The loader checks structure: YAML syntax, the file's shape (one root key `workflow`), every
// key against the schema (schema.h: unknown keys are errors with a suggestion, keys pipeline_ex
// defines that we cannot honour are warnings, missing required keys and wrong kinds are errors),
// step types, unique step names per scope, and rules between keys (a for_loop takes exactly one
// of data_source / items / items_file; a while_loop needs max_iterations >= 1; ...). It reports
// ALL problems it finds, each with file:line:column, and never throws or crashes, whatever the
// input: sizes, nesting and alias expansion are bounded (yaml_tree.h).
//
// Templates are not evaluated (they run with the step) and references are not resolved: that is
// validate.h. After a successful load, `defaults` have been applied to the steps (defaults.h).
// Reentrant: no shared mutable state, so several threads may load files at once.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/pipeline/diagnostic.h"
#include "common/pipeline/model.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::pipeline {

struct LoadResult {
  std::optional<Pipeline> pipeline;     // set when there are no errors
  std::vector<Diagnostic> diagnostics;  // errors and warnings, in file order
  // With errors, what could be read anyway, for validation only (validate_partial): steps that
  // could not be read at all are missing, and their names are in `unread_steps`; a key the
  // schema refused may hold what was written or be missing. Unset when the file has no
  // workflow to read.
  std::optional<Pipeline> partial;
  std::vector<std::string> unread_steps;

  bool ok() const { return pipeline.has_value(); }
};

// Reads and loads a file; `path` as given is the display name in diagnostics. A file that
// cannot be read (missing, a directory, over kMaxYamlBytes) is an error diagnostic too.
LoadResult load_pipeline_file(const std::filesystem::path& path);

// Loads YAML text; `display_name` is what diagnostics and Pipeline::file say.
LoadResult load_pipeline_text(std::string_view yaml, const std::string& display_name);

// Applies `given` (an object of name -> value, or null for none) over the pipeline's declared
// inputs and returns the object a run's `inputs` root holds:
//   - a declared input that is given is converted to its declared type (without `type`, the type
//     of its default: bool, integer, number, list or map; any for a string default or none):
//     values from the command line arrive as strings ("42" -> 42 for number/integer,
//     "true"/"false"/"yes"/"no"/"1"/"0" for bool, JSON text for list and map); values already of
//     the type pass unchanged; an integer is a number; anything else is an error;
//   - one that is not given takes its default; a required one without a value is an error;
//     an optional one without a default is left out (referring to it is an unknown reference;
//     write default(inputs.x, ...));
//   - a given value outside the input's `enum` is an error;
//   - a given name that is not declared is an error when the pipeline declares `inputs:`, and
//     passes through unchanged when it does not.
// Errors (kInvalidInput) name the input; several problems are reported together, "; "-joined.
[[nodiscard]] Result<Value> bind_inputs(const Pipeline& pipeline, const Value& given);

}  // namespace pl::pipeline
