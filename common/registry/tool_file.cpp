#include "common/registry/tool_file.h"

#include "common/config/yaml_document.h"

namespace pl {

Result<ToolDefinition> load_tool_file(const std::filesystem::path& path) {
  auto doc = load_yaml_file(path);  // JSON is YAML: one reader keeps line numbers for both
  if (!doc.ok()) return std::move(doc).error();
  const YamlDocument& document = *doc;
  return tool_definition_from_value(document.root(), "", [&](std::string_view pointer, bool key) {
    return to_string(key ? document.where_key(pointer) : document.where(pointer));
  });
}

}  // namespace pl
