#include "common/pipeline/loader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/pipeline/schema_check.h"
#include "common/pipeline/workflow_reader.h"
#include "common/pipeline/yaml_tree.h"

namespace pl::pipeline {
namespace {

LoadResult file_error(const std::string& file, std::string message) {
  LoadResult result;
  result.diagnostics.push_back(Diagnostic{Severity::kError, {file, 0, 0}, std::move(message)});
  return result;
}

LoadResult load(std::string_view yaml, const std::string& display_name) {
  LoadResult result;
  YamlDocument doc = parse_yaml(yaml, display_name);
  result.diagnostics = std::move(doc.diagnostics);
  if (!doc.root) return result;
  const YamlNode& root = *doc.root;
  SchemaChecker checker(result.diagnostics);
  if (!root.is_map()) {
    checker.error(root.where, "a pipeline file must be a map with the key \"workflow\", got " +
                                  root.describe());
    return result;
  }
  checker.check_map(root, root_keys(), "the file");
  const YamlNode* workflow = root.find("workflow");
  if (!workflow) return result;
  if (!workflow->is_map()) return result;  // reported by check_map
  WorkflowReader reader(display_name, result.diagnostics);
  Pipeline pipeline = reader.read_workflow(*workflow, "workflow");
  sort_in_file_order(result.diagnostics);
  if (!has_errors(result.diagnostics)) {
    result.pipeline = std::move(pipeline);
  } else {
    result.partial = std::move(pipeline);
    result.unread_steps = reader.unread_steps();
  }
  return result;
}

}  // namespace

LoadResult load_pipeline_text(std::string_view yaml, const std::string& display_name) {
  try {
    LoadResult result = load(yaml, display_name);
    sort_in_file_order(result.diagnostics);
    return result;
  } catch (const std::exception& e) {  // bad_alloc and the like: a diagnostic, never a crash
    return file_error(display_name, std::string("could not load the pipeline: ") + e.what());
  }
}

LoadResult load_pipeline_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return file_error(name, "no such file");
  if (std::filesystem::is_directory(path, ec))
    return file_error(name, "is a directory, not a file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return file_error(name, "cannot read: " + ec.message());
  if (size > kMaxYamlBytes) {
    return file_error(name, "the file is " + std::to_string(size) + " bytes, over the limit of " +
                                std::to_string(kMaxYamlBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return file_error(name, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return file_error(name, "cannot read the file");
  return load_pipeline_text(text.str(), name);
}

}  // namespace pl::pipeline
