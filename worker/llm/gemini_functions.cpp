#include "worker/llm/gemini_functions.h"

namespace pl::worker::llm {
namespace {

Result<providers::ToolSpec> spec_of(const std::string& name, const Value& definition) {
  if (!definition.is_object()) {
    return make_error(ErrorCode::kInvalidInput, "function \"" + name + "\": the definition must be a map");
  }
  providers::ToolSpec t;
  t.name = name;
  t.description = definition.get_string("description");
  const Value* params = definition.find("parameters");
  if (params && !params->is_null() && !params->is_object()) {
    return make_error(ErrorCode::kInvalidInput, "function \"" + name + "\": `parameters` must be a map");
  }
  t.input_schema = params && params->is_object() ? *params : Value::object();
  return t;
}

}  // namespace

Result<std::vector<providers::ToolSpec>> declared_functions(const Value& input) {
  std::vector<providers::ToolSpec> out;
  const Value* definitions = input.find("function_definitions");
  if (definitions && !definitions->is_null() && !definitions->is_object()) {
    return make_error(ErrorCode::kInvalidInput, "function_definitions must be a map");
  }
  const Value* names = input.find("functions");
  if (!names || names->is_null()) {
    if (!definitions || definitions->is_null()) return out;
    for (const auto& [name, definition] : definitions->as_object()) {
      auto spec = spec_of(name, definition);
      if (!spec.ok()) return std::move(spec).error();
      out.push_back(std::move(*spec));
    }
    return out;
  }
  if (!names->is_array()) return make_error(ErrorCode::kInvalidInput, "`functions` must be a list of names");
  for (const Value& name : names->as_array()) {
    if (!name.is_string()) return make_error(ErrorCode::kInvalidInput, "`functions` must be a list of names");
    const Value* definition = definitions && definitions->is_object() ? definitions->find(name.as_string()) : nullptr;
    if (!definition) {
      return make_error(ErrorCode::kInvalidInput, "function \"" + name.as_string() +
                                                      "\" has no definition (define it under the workflow's gemini_functions)");
    }
    auto spec = spec_of(name.as_string(), *definition);
    if (!spec.ok()) return std::move(spec).error();
    out.push_back(std::move(*spec));
  }
  return out;
}

providers::ToolSpec structured_output_function(const Value& schema) {
  providers::ToolSpec t;
  t.name = std::string(kStructuredOutputFunction);
  t.description = "Return the answer as structured data matching the parameters schema.";
  t.input_schema = schema;
  return t;
}

}  // namespace pl::worker::llm
