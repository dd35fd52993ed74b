#include "common/pipeline/output_path.h"

#include <filesystem>

namespace pl::pipeline {

std::string output_path_problem(std::string_view relative) {
  const std::filesystem::path p(relative);
  const std::string quoted = "\"" + std::string(relative) + "\"";
  if (relative.empty())
    return "the path is empty; give a file name relative to the output directory";
  if (p.is_absolute()) {
    return quoted + " is absolute; give a path relative to the output directory";
  }
  // Any normal absolute root gives the same answer: the check does not depend on where the
  // output directory is.
  const std::filesystem::path root("/output");
  const auto rel = (root / p).lexically_normal().lexically_relative(root);
  if (rel.empty() || *rel.begin() == "..") return quoted + " leaves the output directory";
  if (rel == "." || !p.has_filename() || p.filename() == "." || p.filename() == "..") {
    return quoted + " names a directory; give a file name";
  }
  return {};
}

}  // namespace pl::pipeline
