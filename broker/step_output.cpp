#include "broker/step_output.h"

#include "common/fs.h"
#include "common/json.h"
#include "common/pipeline/output_path.h"
#include "common/pipeline/template.h"

namespace pl::broker {
namespace fs = std::filesystem;

namespace {

Result<fs::path> confined(const fs::path& root, const std::string& relative) {
  if (std::string problem = pipeline::output_path_problem(relative); !problem.empty()) {
    return make_error(ErrorCode::kInvalidInput, std::move(problem));
  }
  return (root / relative).lexically_normal();
}

// `from` (a file already durable) becomes `to`, in the same file system: renamed, then both
// directories fsynced.
Result<fs::path> move_into_place(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (!ec) fs::rename(from, to, ec);
  if (ec) {
    return make_error(ErrorCode::kIo, "move " + from.string() + " to " + to.string() + ": " +
                                          ec.message());
  }
  if (auto st = fsync_dir(to.parent_path()); !st.ok()) return std::move(st).error();
  if (from.parent_path() != to.parent_path()) {
    if (auto st = fsync_dir(from.parent_path()); !st.ok()) return std::move(st).error();
  }
  return to;
}

}  // namespace

Result<fs::path> write_step_output(const fs::path& output_dir, const std::string& relative,
                                   const pipeline::Scope& scope, const Value& result) {
  auto rendered = pipeline::render_template(relative, scope);
  if (!rendered.ok()) return std::move(rendered).error();
  auto path = confined(output_dir, pipeline::template_text(*rendered));
  if (!path.ok()) return path;
  const Value* text = result.find("text");
  const Value* text_file = result.find("text_file");
  if (!(text && text->is_string()) && text_file && text_file->is_string()) {
    return move_into_place(text_file->as_string(), *path);
  }
  const Value* data = result.find("data");
  const std::string content = text && text->is_string() ? text->as_string()
                              : data ? to_json(*data, JsonStyle::kPretty) + "\n"
                                     : to_json(result, JsonStyle::kPretty) + "\n";
  if (auto st = write_file_atomic(*path, content); !st.ok()) return std::move(st).error();
  return path;
}

}  // namespace pl::broker
