#include "cli/pipeline_check.h"

#include <iostream>

#include "common/fs.h"
#include "common/pipeline/loader.h"
#include "common/pipeline/validate.h"
#include "worker/data/step_checks.h"

namespace pl::cli {

std::optional<CheckedPipeline> check_pipeline_file(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text.ok()) {
    // read_file's message names the file already ("F: no such file"): "F: error: no such file".
    const std::string& message = text.error().message;
    const std::string named = path.string() + ": ";
    const bool names_it = message.rfind(named, 0) == 0;
    std::cerr << path.string() << ": error: " << (names_it ? message.substr(named.size()) : message)
              << "\n";
    return std::nullopt;
  }
  auto loaded = pipeline::load_pipeline_text(*text, path.string());
  std::vector<pipeline::Diagnostic> diagnostics = loaded.diagnostics;
  pipeline::ValidateOptions options{path.parent_path()};
  options.check_step_options = worker::data::check_data_step_options;
  // With errors, the rest of the file is still checked, so that one round lists them all.
  auto more = loaded.ok() ? pipeline::validate_pipeline(*loaded.pipeline, options)
                          : pipeline::validate_partial(loaded, options);
  diagnostics.insert(diagnostics.end(), more.begin(), more.end());
  pipeline::sort_in_file_order(diagnostics);
  for (const auto& d : diagnostics) std::cerr << pipeline::format_diagnostic(d) << "\n";
  if (!loaded.ok() || pipeline::has_errors(diagnostics)) return std::nullopt;
  return CheckedPipeline{std::move(*loaded.pipeline), std::move(*text)};
}

}  // namespace pl::cli
