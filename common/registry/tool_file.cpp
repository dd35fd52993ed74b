#include "common/registry/tool_file.h"

#include <optional>
#include <string>
#include <string_view>

#include "common/config/yaml_document.h"
#include "common/fs.h"

namespace pl {
namespace {

// The characters of a plain scalar that YAML's core schema reads as a number or a boolean.
bool number_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
         c == '+' || c == '-';
}

// The plain scalar written at `where` in `text`, when it reads back as `value`; nullopt when it
// cannot be told (an alias: "*n"), and the value stays as YAML typed it.
std::optional<std::string> written_text(std::string_view text, const SourceLocation& where,
                                        const Value& value) {
  if (where.line <= 0 || where.column <= 0) return std::nullopt;
  size_t pos = 0;
  for (int line = 1; line < where.line; ++line) {
    pos = text.find('\n', pos);
    if (pos == std::string_view::npos) return std::nullopt;
    ++pos;
  }
  pos += static_cast<size_t>(where.column - 1);
  if (pos < text.size() && text[pos] == '&') {  // an anchor ("&n 010"): the scalar follows it
    pos = text.find_first_of(" \t", pos);
    pos = text.find_first_not_of(" \t", pos);
    if (pos == std::string_view::npos) return std::nullopt;
  }
  size_t end = pos;
  while (end < text.size() && number_char(text[end])) ++end;
  if (end == pos) return std::nullopt;
  std::string written(text.substr(pos, end - pos));
  auto reread = parse_yaml(written, "");
  if (!reread.ok() || reread->root().kind() != value.kind() || !values_equal(reread->root(), value)) {
    return std::nullopt;
  }
  return written;
}

// YAML reads an unquoted `+2`, `1.10` or `0755` as a number, but an argv element or a variable
// means its text: `tail -n +2` is not `tail -n 2`, `sort -k 1.10` not `sort -k 1.1`. Numbers and
// booleans of `command` and `env` are put back as written.
Value with_scalars_as_written(const YamlDocument& document, std::string_view text) {
  Value root = document.root();
  if (!root.is_object()) return root;
  auto restore = [&](Value& v, const std::string& pointer) {
    if (!v.is_number() && !v.is_bool()) return;
    if (auto written = written_text(text, document.where(pointer), v)) v = Value(std::move(*written));
  };
  if (Value* command = root.find("command"); command && command->is_array()) {
    for (size_t i = 0; i < command->size(); ++i) {
      restore(command->as_array()[i], pointer_append("/command", i));
    }
  }
  if (Value* env = root.find("env"); env && env->is_object()) {
    for (auto& [name, v] : env->as_object()) restore(v, pointer_append("/env", name));
  }
  return root;
}

}  // namespace

Result<ToolDefinition> load_tool_file(const std::filesystem::path& path) {
  const YamlLimits limits;
  auto text = read_file(path, limits.max_bytes);
  if (!text.ok()) return std::move(text).error();
  auto doc = parse_yaml(*text, path.string(), limits);  // JSON is YAML: one reader keeps line numbers for both
  if (!doc.ok()) return std::move(doc).error();
  const YamlDocument& document = *doc;
  return tool_definition_from_value(with_scalars_as_written(document, *text), "",
                                    [&](std::string_view pointer, bool key) {
                                      return to_string(key ? document.where_key(pointer)
                                                           : document.where(pointer));
                                    });
}

}  // namespace pl
