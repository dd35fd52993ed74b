// Tool definition files (YAML or JSON), as `pipelinectl tools register` reads them, and their
// argument templates rendered against sample arguments.
//
// Properties: reading never crashes and fails with kInvalidInput (every problem located in the
// file); an accepted definition's canonical form (to_value) reads back as the same definition;
// its command, stdin and cwd templates render or fail cleanly.
#include "common/config/yaml_document.h"
#include "common/registry/arg_template.h"
#include "common/registry/json_schema.h"
#include "common/registry/tool_definition.h"
#include "tests/fuzz/fuzz_entry.h"
#include "tests/fuzz/fuzz_support.h"

namespace pl::fuzz {
namespace {

Finding render(const std::string& text, const Value& args) {
  auto rendered = render_arg_template(text, args);
  if (!rendered.ok()) return check_error(rendered.error(), "render_arg_template");
  return std::nullopt;
}

}  // namespace

Finding tool_definition(std::string_view input) {
  auto doc = parse_yaml(input, "tool.yaml");
  if (!doc.ok()) return check_error(doc.error(), "parse_yaml");
  const YamlDocument& document = *doc;
  auto definition = tool_definition_from_value(
      document.root(), "", [&](std::string_view pointer, bool key) {
        return to_string(key ? document.where_key(pointer) : document.where(pointer));
      });
  if (!definition.ok()) {
    if (definition.error().code != ErrorCode::kInvalidInput) {
      return "tool_definition_from_value failed with code " +
             std::to_string(static_cast<int>(definition.error().code));
    }
    return check_error(definition.error(), "tool_definition_from_value");
  }

  const Value canonical = to_value(*definition);
  auto reread = tool_definition_from_value(canonical);
  if (!reread.ok()) {
    return "the canonical form of an accepted definition is refused: " + reread.error().message;
  }
  if (!identical(to_value(*reread), canonical)) {
    return "a definition changed in a round trip, " + difference(canonical, to_value(*reread));
  }

  // Arguments with defaults filled in, as the worker renders them.
  Value args = apply_schema_defaults(definition->input_schema, rich_scope().find("inputs")
                                                                   ? *rich_scope().find("inputs")
                                                                   : Value::object());
  for (const auto& element : definition->command) {
    if (Finding f = render(element, args)) return f;
  }
  if (definition->stdin_template) {
    if (Finding f = render(*definition->stdin_template, args)) return f;
  }
  return render(definition->cwd, args);
}

}  // namespace pl::fuzz

PL_FUZZ_TARGET(tool_definition)
