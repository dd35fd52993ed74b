// Loading and checking a pipeline file on the client side, with diagnostics printed the way
// compilers print them: "file:line:column: error: what".
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/pipeline/model.h"

namespace pl::cli {

struct CheckedPipeline {
  pipeline::Pipeline pipeline;
  std::string text;  // the file as read, sent to the broker as is
};

// Loads and validates `path`; prints every diagnostic (warnings too) to stderr. nullopt when
// there is an error.
std::optional<CheckedPipeline> check_pipeline_file(const std::filesystem::path& path);

}  // namespace pl::cli
