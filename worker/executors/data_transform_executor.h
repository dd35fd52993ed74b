// `data_transform`: filter / map / aggregate / join / group_by / sort over a list, chained
// (worker/data/transform.h has the operations' rules).
//
// The work item's input, as the broker sends it:
//   input_source_value  the value `input_source` names, resolved by the broker (a list, or a map
//                       for a map-only chain). When absent, `input_source` itself is used if it
//                       is already a list or a map (a rendered {{ }} template); a string there
//                       means nothing was resolved, which is an error.
//   operations          the list as written in the pipeline; conditions and expressions are
//                       strings evaluated here per item. A join's `right_source` is resolved by
//                       the broker into `right_source_value` inside that entry (or rendered to a
//                       list in place).
//   output_field        optional: the result is then {output_field: value} instead of value; a
//                       field path, so "a.b" gives {a: {b: value}} (steps.NAME.data.a.b).
//   run_roots           optional: a map of the run's names (inputs, global_vars, state, loop)
//                       that conditions and expressions may read behind the item's own names.
// Other keys are ignored.
//
// Result: {data: value} or {data: {<output_field>: value}}. Errors name the operation and item
// (`operation 2 (sort): field "score" is missing in item 7`); codes as in transform.h. The
// cancel token and the deadline are checked every few thousand items.
#pragma once

#include "worker/data/transform.h"
#include "worker/executor.h"

namespace pl::worker {

class DataTransformExecutor final : public StepExecutor {
 public:
  explicit DataTransformExecutor(data::TransformLimits limits = {}) : limits_(limits) {}
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  data::TransformLimits limits_;
};

}  // namespace pl::worker
