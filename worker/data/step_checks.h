// The data steps' options read at validation, by the readers their executors use: what
// `pipelinectl validate` and the broker can refuse before a run pays for the steps before them.
//
//   data_transform  each `operations` entry, by parse_operation (the worker reads them as
//                   written too). A join's `right_source` is resolved only at dispatch, so it is
//                   taken to be a list here; validate checks the reference itself.
//   file_ops        the options, by parse_file_ops_request, when none of them holds a template
//                   (the broker renders them before dispatch; such a step is read when it runs).
//
// Other step types have nothing to check here. Pass as ValidateOptions::check_step_options.
#pragma once

#include <vector>

#include "common/pipeline/model.h"
#include "common/pipeline/validate.h"

namespace pl::worker::data {

std::vector<pipeline::StepOptionProblem> check_data_step_options(const pipeline::Step& step);

}  // namespace pl::worker::data
