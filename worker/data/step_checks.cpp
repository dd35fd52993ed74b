#include "worker/data/step_checks.h"

#include <string>

#include "common/pipeline/template.h"
#include "worker/data/file_request.h"
#include "worker/data/transform.h"

namespace pl::worker::data {
namespace {

bool holds_template(const Value& v) {
  if (v.is_string()) return pipeline::has_template(v.as_string());
  if (v.is_array()) {
    for (const Value& element : v.as_array()) {
      if (holds_template(element)) return true;
    }
  }
  if (v.is_object()) {
    for (const auto& [key, member] : v.as_object()) {
      if (holds_template(member)) return true;
    }
  }
  return false;
}

// `message` naming the step: "file_ops (list): ..." becomes "file_ops step "f" (list): ...",
// and "operation 0 (filter): ..." "data_transform step "t": operation 0 (filter): ...".
std::string naming(const pipeline::Step& step, const std::string& message) {
  const std::string type(pipeline::step_type_name(step.type));
  const std::string named = type + " step " + pipeline::quote(step.name);
  if (message.rfind(type + " ", 0) == 0 || message.rfind(type + ":", 0) == 0) {
    return named + message.substr(type.size());
  }
  return named + ": " + message;
}

std::vector<pipeline::StepOptionProblem> check_operations(const pipeline::Step& step,
                                                          const Value& operations) {
  std::vector<pipeline::StepOptionProblem> problems;
  if (!operations.is_array()) return problems;  // the schema has said so
  for (size_t i = 0; i < operations.size(); ++i) {
    Value entry = operations.as_array()[i];
    if (const Value* right = entry.find("right_source"); right && right->is_string()) {
      entry["right_source_value"] = Value::array();
    }
    auto parsed = parse_operation(entry, i);
    if (!parsed.ok()) {
      problems.push_back({"operations." + std::to_string(i), naming(step, parsed.error().message)});
    }
  }
  return problems;
}

}  // namespace

std::vector<pipeline::StepOptionProblem> check_data_step_options(const pipeline::Step& step) {
  switch (step.type) {
    case pipeline::StepType::kDataTransform:
      if (const Value* operations = step.options.find("operations")) {
        return check_operations(step, *operations);
      }
      return {};
    case pipeline::StepType::kFileOps: {
      if (holds_template(step.options)) return {};
      auto request = parse_file_ops_request(step.options);
      if (request.ok()) return {};
      return {{"", naming(step, request.error().message)}};
    }
    default:
      return {};
  }
}

}  // namespace pl::worker::data
