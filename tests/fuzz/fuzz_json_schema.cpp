// The JSON Schema subset of tool inputs: the first line of the input is a schema (JSON), the
// rest an instance (JSON, or the text itself as a string when it is not JSON).
//
// Properties: check_schema and validate_against_schema never crash, never take long, and fail
// with kInvalidInput; apply_schema_defaults never crashes and leaves non-objects alone.
#include "common/json.h"
#include "common/registry/json_schema.h"
#include "tests/fuzz/fuzz_entry.h"
#include "tests/fuzz/fuzz_support.h"

namespace pl::fuzz {

Finding json_schema(std::string_view input) {
  auto [schema_text, instance_text] = split_first_line(input);
  auto schema = parse_json(schema_text);
  if (!schema.ok()) return std::nullopt;
  auto parsed_instance = parse_json(instance_text);
  const Value instance =
      parsed_instance.ok() ? std::move(*parsed_instance) : Value(std::string(instance_text));

  Status checked = check_schema(*schema);
  if (!checked.ok()) return check_error(checked.error(), "check_schema");

  // A format checker that refuses one format, as the worker's workspace check does.
  const FormatCheck format = [](std::string_view name,
                                const std::string& value) -> std::optional<std::string> {
    if (name == "path" && value.find("..") != std::string::npos) return "escapes the workspace";
    return std::nullopt;
  };
  Status valid = validate_against_schema(*schema, instance, "args", format);
  if (!valid.ok()) {
    if (valid.error().code != ErrorCode::kInvalidInput) {
      return "validate_against_schema failed with code " +
             std::to_string(static_cast<int>(valid.error().code));
    }
    if (Finding f = check_error(valid.error(), "validate_against_schema")) return f;
  }
  Value filled = apply_schema_defaults(*schema, instance);
  if (!instance.is_object() && !identical(filled, instance)) {
    return "apply_schema_defaults changed a value that is not an object";
  }
  return std::nullopt;
}

}  // namespace pl::fuzz

PL_FUZZ_TARGET(json_schema)
