// The functions a gemini or gemini_instructor step offers the model. Pure.
//
// `functions` names them; `function_definitions` (the broker copies the pipeline's
// gemini_functions entries for those names) gives each {description, parameters}. With no
// `functions` list, every definition is offered. A named function without a definition is
// kInvalidInput.
//
// gemini functions are declarations: the model's calls come back in the result's
// `function_calls` and nothing runs them (to run registry tools in a loop, use an `llm` step
// with provider gemini and allowed_tools). gemini_instructor forces a call and takes its
// arguments as the structured output; given only a `schema`, it offers one function,
// "structured_output", whose parameters are that schema.
#pragma once

#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "worker/providers/provider.h"

namespace pl::worker::llm {

constexpr std::string_view kStructuredOutputFunction = "structured_output";

Result<std::vector<providers::ToolSpec>> declared_functions(const Value& input);

// The structured_output function for `schema`.
providers::ToolSpec structured_output_function(const Value& schema);

}  // namespace pl::worker::llm
