// What the broker adds to a step's input after its templates are rendered, because only the
// broker has the run's state:
//
//   prompt parts {type: previous_response, step, extract}  get `content`: the named earlier
//       step's result (its `extract` path, else its text, else its data) as text. Without an
//       extract, a step that was skipped or failed, or has neither text nor data, has no
//       response: an error, rather than its result object sent as text
//   data_transform                      gets `input_source_value`: `input_source` resolved
//       (a bare reference such as "steps.fetch.data" is evaluated; one {{ }} is rendered and
//       its value is the data as is, even a string), each join's `right_source_value`
//       likewise, `input_source` and `operations` as written (the operations' expressions read
//       each item's fields, so they are evaluated on the worker, not rendered here), and
//       `run_roots`: {inputs, global_vars, state, loop} for conditions that compare items with
//       run values
//   gemini and gemini_instructor         get `function_definitions`: the pipeline's
//       gemini_functions entries for the functions the step names
//
// Errors name what is missing ("prompt part 2: no step \"draft\" before this one").
#pragma once

#include "broker/run_frame.h"
#include "common/pipeline/model.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::broker {

Result<Value> bind_step_input(const pipeline::Step& step, Value input, const FrameScope& scope,
                              const PipelineContext& context);

}  // namespace pl::broker
