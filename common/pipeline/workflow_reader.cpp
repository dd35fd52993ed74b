#include "common/pipeline/workflow_reader.h"

#include "common/json.h"
#include "common/pipeline/defaults.h"
#include "common/pipeline/inputs.h"

namespace pl::pipeline {
namespace {

bool is_text(const YamlNode& node) {
  if (!node.is_scalar()) return false;
  Value v = node.scalar_value();
  return v.is_string() || v.is_number();
}

}  // namespace

Pipeline WorkflowReader::read_workflow(const YamlNode& workflow, std::string_view context) {
  checker_.check_map(workflow, workflow_keys(), context);
  Pipeline pipeline;
  pipeline.file = file_;
  pipeline.location = workflow.where;

  if (const YamlNode* name = workflow.find("name"); name && is_text(*name)) {
    pipeline.name = name->scalar;  // not empty: the schema's check
  }
  if (const YamlNode* description = workflow.find("description");
      description && is_text(*description)) {
    pipeline.description = description->scalar;
  }
  if (const YamlNode* steps = workflow.find("steps"); steps && steps->is_sequence()) {
    if (steps->items.empty()) checker_.error(steps->where, "key \"steps\" must not be empty");
    pipeline.steps = read_steps(*steps, std::string(context));
  }
  if (const YamlNode* inputs = workflow.find("inputs"); inputs && inputs->is_map()) {
    pipeline.inputs_declared = true;
    read_inputs(*inputs, pipeline);
  }
  if (const YamlNode* vars = workflow.find("global_vars"); vars && vars->is_map()) {
    pipeline.global_vars = vars->to_value();
  }
  if (const YamlNode* defaults = workflow.find("defaults"); defaults && defaults->is_map()) {
    pipeline.defaults = value_as(*defaults, *workflow_keys().find("defaults"));
  }
  if (const YamlNode* dir = workflow.find("workspace_dir"); dir && is_text(*dir)) {
    pipeline.workspace_dir = dir->scalar;
  }
  if (const YamlNode* dir = workflow.find("output_dir"); dir && is_text(*dir)) {
    pipeline.output_dir = dir->scalar;
  } else if (const Value* fallback = pipeline.defaults.find("output_dir");
             fallback && fallback->is_string()) {
    pipeline.output_dir = fallback->as_string();
  }
  if (const YamlNode* functions = workflow.find("gemini_functions");
      functions && functions->is_map()) {
    pipeline.gemini_functions = value_as(*functions, *workflow_keys().find("gemini_functions"));
  }
  apply_defaults(pipeline);
  return pipeline;
}

void WorkflowReader::read_inputs(const YamlNode& inputs, Pipeline& pipeline) {
  for (const auto& member : inputs.members) {
    InputSpec spec;
    spec.name = member.key;
    spec.where = member.key_where;
    const YamlNode& body = member.value;
    if (!body.is_map()) {  // null: any value, optional; other kinds were reported by the checker
      pipeline.inputs.push_back(std::move(spec));
      continue;
    }
    const std::string label = "input \"" + member.key + "\"";
    const YamlNode* fallback = body.find("default");
    if (const YamlNode* type = body.find("type"); type && type->is_scalar()) {
      spec.type = canonical_input_type(type->scalar).value_or("");
    } else if (!type && fallback) {
      // `deploy: {default: false}` is a bool: --input deploy=false must give false, not the
      // text "false" (which is truthy).
      spec.type = input_type_of_default(fallback->to_value());
    }
    if (const YamlNode* required = body.find("required"); required) {
      Value v = required->scalar_value();
      spec.required = v.is_bool() && v.as_bool();
    }
    if (const YamlNode* allowed = body.find("enum"); allowed && allowed->is_sequence()) {
      for (const auto& element : allowed->items) {
        Value v = element.to_value();
        if (!has_input_type(v, spec.type)) {
          checker_.error(element.where,
                         "a value in the enum of " + label + " must be " +
                             (spec.type.empty() ? "a value" : "of type " + spec.type) + ", got " +
                             element.describe());
        }
        spec.allowed.push_back(std::move(v));
      }
    }
    if (fallback && !fallback->is_null()) {
      spec.default_value = fallback->to_value();
      auto checked = convert_input(spec, spec.default_value);
      if (!has_input_type(spec.default_value, spec.type)) {
        checker_.error(fallback->where, "the default of " + label + " must be of type " +
                                            spec.type + ", got " + fallback->describe());
      } else if (!checked.ok()) {
        checker_.error(fallback->where, "the default of " + checked.error().message);
      }
      if (spec.required) {
        checker_.warning(fallback->where, label + " is required, so its default is never used");
      }
    }
    pipeline.inputs.push_back(std::move(spec));
  }
}

}  // namespace pl::pipeline
