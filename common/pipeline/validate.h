// Static validation: what can be known about a loaded pipeline before it runs.
//
// For `pipelinectl validate` and for the broker before it accepts a run. The loader (loader.h)
// has already checked structure; this checks meaning:
//   - every template and condition parses (an error at the string's file:line:column);
//   - every reference names something that will exist when it is evaluated (references under
//     default()'s first argument or before `exists` may be absent and are not checked):
//       steps.X / bare X   X is an earlier step of the same scope or an earlier step of an
//                          enclosing scope. Inside a loop body the body's earlier steps and the
//                          outer steps before the loop are visible; the loop itself is not, nor
//                          a later step, nor a step inside another loop's body. A step's own
//                          result is not visible to it.
//       inputs.x           declared, when the pipeline has an `inputs:` key
//       global_vars.x      a key of global_vars
//       state.x            set by some set_variable step of the pipeline
//     A child pipeline whose step sets `config.inherit_context: true` also sees its parent's
//     global_vars and state: there global_vars.x and state.x may name the parent's (and, when
//     the parent inherits too, its parent's); with ValidateOptions::inherits_context they are
//     not checked at all.
//       loop.f             inside a loop body; f is the iterator, index, total, first, last,
//                          is_first, is_last, length or parent (for a while_loop: index, first,
//                          is_first, parent)
//     Where each field is evaluated: a step's `condition` and templates before the step runs,
//     in its scope; a for_loop's data_source and a while_loop's condition in the scope around
//     the loop (its body has not run yet); a for_loop's break_condition after an iteration, in
//     the body's scope. data_source and input_source are a bare reference or one {{ }};
//     A for_loop's, while_loop's, parallel_claude's or claude_batch's result has a fixed set of
//     members (loop_result_members): steps.X.f of such a step must name one of them;
//   - previous_response prompt parts name visible steps, and say what to `extract` from a step
//     whose result can have neither text nor data; gemini `functions` are defined in
//     gemini_functions; set_variable `scope: loop` is inside a loop;
//   - files named by items_file, tasks_file, pipeline_file, tasks[].file and {type: file, path}
//     prompt parts exist, relative to base_dir (prompt files may also be in the workspace),
//     unless the path contains a template;
//   - with ValidateOptions::check_step_options, each step's options as the process that runs
//     it reads them (a data_transform's operations, a file_ops step's options);
//   - child pipelines (inline, or pipeline_file when follow_pipeline_files) are validated too;
//     a cycle of pipeline files is an error.
// Returns errors and warnings in file order (empty when all is well). Never throws.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/pipeline/diagnostic.h"
#include "common/pipeline/loader.h"
#include "common/pipeline/model.h"

namespace pl::pipeline {

// What a StepOptionsCheck found: the key it is about, as Step::location_of takes it
// ("operations.2"; "" for the step as a whole), and what is wrong, naming the step.
struct StepOptionProblem {
  std::string key;
  std::string message;
};

// Reads a step's options the way the process that executes it will, for what only that reader
// knows (a data_transform's operations, a file_ops step's options: worker/data/step_checks.h).
using StepOptionsCheck = std::function<std::vector<StepOptionProblem>(const Step&)>;

struct ValidateOptions {
  std::filesystem::path base_dir;     // relative file references start here (the file's dir)
  bool follow_pipeline_files = true;  // load and validate the files pipeline_file names
  // The pipeline runs as a child with `config.inherit_context: true` (the broker, loading such
  // a child): it also sees its parent's global_vars and state, which are not known here, so
  // references to global_vars.x and state.x are not checked.
  bool inherits_context = false;
  // Called for every step in which the checks above found no error; null: not called.
  StepOptionsCheck check_step_options = nullptr;
  // Steps the loader could not read (LoadResult::unread_steps): a reference to one of these
  // names is not reported, since the error that dropped the step says what is wrong.
  std::vector<std::string> unread_steps = {};
};

std::vector<Diagnostic> validate_pipeline(const Pipeline& pipeline, const ValidateOptions& options);

// What validate_pipeline finds in what a load with errors could still read (LoadResult::
// partial), so that `pipelinectl validate` lists every problem at once rather than a round at a
// time. Left out, as what the load's errors may explain: references to the steps it could not
// read, and whatever is said inside a step (its lines, a loop's body included) where an error
// is. Empty when the load has nothing partial.
std::vector<Diagnostic> validate_partial(const LoadResult& loaded, ValidateOptions options);

// Every member the result of `step` can have when it is a for_loop, while_loop,
// parallel_claude or claude_batch (the broker's loop and fan-out nodes build them, without
// `data`); empty for other types, whose results are open. A reference to any other member of
// such a step fails in every run, so validation refuses it.
std::vector<std::string_view> loop_result_members(const Step& step);

}  // namespace pl::pipeline
