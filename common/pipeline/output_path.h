// Where output_to_file may write: a path relative to the run's output directory that stays
// inside it. The broker checks the rendered path before it writes (broker/step_output.cpp);
// validation checks a path without templates before the run, so that a step does not run, and
// an LLM call is not paid for, only for its output to be refused.
#pragma once

#include <string>
#include <string_view>

namespace pl::pipeline {

// What is wrong with `relative` as an output_to_file path ("\"/x\" is absolute; ...",
// "\"../x\" leaves the output directory", an empty path, one that names a directory: ".",
// "sub/"); empty when it is fine. Lexical only: the file
// system is not looked at.
std::string output_path_problem(std::string_view relative);

}  // namespace pl::pipeline
