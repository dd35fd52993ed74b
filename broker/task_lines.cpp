#include "broker/task_lines.h"

#include <spdlog/spdlog.h>

#include <functional>

#include "common/json.h"
#include "common/pipeline/schema_check.h"
#include "common/pipeline/yaml_tree.h"
#include "common/text.h"

namespace pl::broker {
namespace {

using pipeline::Diagnostic;
using pipeline::SourceLocation;

// What an element of claude_batch's `tasks` is checked and read with.
const pipeline::KeySpec& task_spec() {
  static const pipeline::KeySpec spec = [] {
    const pipeline::KeySpec* tasks =
        pipeline::step_keys(pipeline::StepType::kClaudeBatch).find("tasks");
    pipeline::KeySpec element = pipeline::key("task", pipeline::KeyKind::kMap);
    element.nested = tasks ? tasks->nested : nullptr;
    return element;
  }();
  return spec;
}

std::string at(const std::string& file, size_t line, int column = 0) {
  return pipeline::to_string(SourceLocation{file, static_cast<int>(line), column});
}

}  // namespace

Result<Value> TaskLineCheck::read(std::string_view text, const std::string& file, size_t line) {
  const std::string where = at(file, line);
  auto json = parse_json(text);
  if (!json.ok()) return make_error(ErrorCode::kInvalidInput, where + ": " + json.error().message);
  if (!json->is_object()) {
    return make_error(ErrorCode::kInvalidInput, where + ": a task must be a JSON object, got " +
                                                    a_kind(json->kind()));
  }
  // JSON is YAML: read the line as the loader reads an inline task, to check it the same way.
  pipeline::YamlDocument doc = pipeline::parse_yaml(text, file);
  const pipeline::KeySpec& spec = task_spec();
  std::vector<Diagnostic> problems = doc.diagnostics;
  if (doc.root && doc.root->is_map() && spec.nested) {
    pipeline::SchemaChecker checker(problems);
    checker.check_map(*doc.root, *spec.nested, "a tasks_file line");
    const bool has_task_id = doc.root->find("task_id") != nullptr;
    if (has_task_id == (doc.root->find("id") != nullptr)) {
      checker.error(doc.root->where, has_task_id ? "a task takes only one of \"task_id\" and \"id\""
                                                 : "a task needs a \"task_id\"");
    }
  }
  std::vector<std::string> errors;
  for (const Diagnostic& d : problems) {
    const std::string place = at(file, line, d.where.column);
    if (d.severity == pipeline::Severity::kError) {
      errors.push_back(place + ": " + d.message);
    } else if (!warned_) {
      warned_ = true;
      spdlog::warn("{}: {} (said once per file)", place, d.message);
    }
  }
  if (errors.empty() && !doc.root) errors.push_back(where + ": not readable as a task");
  if (!errors.empty()) return make_error(ErrorCode::kInvalidInput, join(errors, "; "));

  Value task = pipeline::value_as(*doc.root, spec);
  const std::string id = task.get_string("task_id", task.get_string("id"));
  auto [seen, inserted] =
      ids_.emplace(std::hash<std::string_view>{}(id), static_cast<uint32_t>(line));
  if (!inserted) {
    const pipeline::YamlNode* named = doc.root->find("task_id");
    if (!named) named = doc.root->find("id");
    return make_error(ErrorCode::kInvalidInput, at(file, line, named ? named->where.column : 0) +
                                                    ": duplicate task id " + pipeline::quote(id) +
                                                    " (first at line " +
                                                    std::to_string(seen->second) + ")");
  }
  return task;
}

}  // namespace pl::broker
