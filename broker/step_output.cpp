#include "broker/step_output.h"

#include "common/fs.h"
#include "common/json.h"
#include "common/pipeline/template.h"

namespace pl::broker {
namespace fs = std::filesystem;

namespace {

Result<fs::path> confined(const fs::path& root, const std::string& relative) {
  const fs::path p(relative);
  if (p.is_absolute()) {
    return make_error(ErrorCode::kInvalidInput,
                      "\"" + relative + "\" is absolute; give a path relative to the output directory");
  }
  const auto joined = (root / p).lexically_normal();
  const auto rel = joined.lexically_relative(root.lexically_normal());
  if (rel.empty() || *rel.begin() == "..") {
    return make_error(ErrorCode::kInvalidInput, "\"" + relative + "\" leaves the output directory");
  }
  return joined;
}

}  // namespace

Result<fs::path> write_step_output(const fs::path& output_dir, const std::string& relative,
                                   const pipeline::Scope& scope, const Value& result) {
  auto rendered = pipeline::render_template(relative, scope);
  if (!rendered.ok()) return std::move(rendered).error();
  auto path = confined(output_dir, pipeline::template_text(*rendered));
  if (!path.ok()) return path;
  const Value* text = result.find("text");
  const Value* data = result.find("data");
  const std::string content = text && text->is_string() ? text->as_string()
                              : data ? to_json(*data, JsonStyle::kPretty) + "\n"
                                     : to_json(result, JsonStyle::kPretty) + "\n";
  if (auto st = write_file_atomic(*path, content); !st.ok()) return std::move(st).error();
  return path;
}

}  // namespace pl::broker
