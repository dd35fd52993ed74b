// Declared pipeline inputs: their types, and converting given values to them (loader.h's
// bind_inputs uses these; the loader checks defaults with them).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/pipeline/model.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::pipeline {

// The canonical input type for a name the format accepts ("boolean" -> "bool", "array" ->
// "list", "object" -> "map", "any" -> ""); nullopt for a name it does not.
std::optional<std::string> canonical_input_type(std::string_view name);

// The canonical type an input without `type` takes from its default: "bool", "integer"
// (an integer), "number" (a decimal), "list" or "map"; "" (any) for a string or null, which
// command-line values already are.
std::string input_type_of_default(const Value& v);

// Whether `v` already has the canonical `type` ("" accepts anything; an integer is a number).
bool has_input_type(const Value& v, std::string_view type);

// `v` as the input's type, converting command-line strings; errors name the input.
[[nodiscard]] Result<Value> convert_input(const InputSpec& spec, const Value& v);

}  // namespace pl::pipeline
