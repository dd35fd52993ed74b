// Applies the key tables of schema.h to YAML maps, reporting every problem as a Diagnostic:
// unknown keys (with the nearest known name), keys accepted but ignored (a warning that names
// them), missing required keys, values of the wrong kind, strings outside their allowed values,
// integers under their minimum, templates where a literal is needed. Nested option maps, list
// entries and prompt parts are checked against their own tables.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/pipeline/diagnostic.h"
#include "common/pipeline/schema.h"
#include "common/pipeline/yaml_tree.h"
#include "common/value.h"

namespace pl::pipeline {

class SchemaChecker {
 public:
  // Diagnostics are appended to `sink`, which must outlive the checker.
  explicit SchemaChecker(std::vector<Diagnostic>& sink) : out_(sink) {}

  // Checks each member of `map` against `table`, then `fallback` (the keys every step has).
  // `context` names the map in messages ("claude step \"fetch\"", "claude_options"); `prefix`
  // is the dotted path of the map, prepended to key names in messages ("" at a step's top).
  // Keys of kind kSteps and kPipeline are checked only for being a list / a map.
  // REQUIRES: map.is_map().
  // Missing required keys are reported at `anchor` when given (the key that holds the map),
  // else at the map itself.
  void check_map(const YamlNode& map, const KeyTable& table, std::string_view context,
                 std::string_view prefix = {}, const KeyTable* fallback = nullptr,
                 const SourceLocation* anchor = nullptr);

  // Checks one value against its spec; false when it cannot be read as that kind. `key_where`
  // is where the key that holds the value was written.
  bool check_value(const YamlNode& value, const KeySpec& spec, const std::string& path,
                   const SourceLocation& key_where);

  void error(const SourceLocation& where, std::string message);
  void warning(const SourceLocation& where, std::string message);

 private:
  void check_prompt(const YamlNode& prompt, const std::string& path);
  // Reports a template where `spec` takes a literal, saying why (KeySpec::note).
  void refuse_template(const YamlNode& value, const KeySpec& spec, const std::string& path);
  // refuse_template for every template string anywhere inside `value` (KeySpec::is_verbatim).
  void refuse_templates_inside(const YamlNode& value, const KeySpec& spec, const std::string& path);
  bool wrong_kind(const YamlNode& value, const KeySpec& spec, const std::string& path);

  std::vector<Diagnostic>& out_;
};

// The spec for `key` in `table`, else in `fallback`; nullptr when neither has it.
const KeySpec* find_key(std::string_view key, const KeyTable& table, const KeyTable* fallback);

// Whether the node is a string holding "{{" (a template, checked when it runs).
bool is_template_string(const YamlNode& node);

// The node as a Value, following the spec: a kString key (deeply, through nested tables and
// prompt parts) holds its text even when written as a plain number or bool.
Value value_as(const YamlNode& node, const KeySpec& spec);

// "a.b" from a prefix and a key ("" prefix gives just the key).
std::string join_path(std::string_view prefix, std::string_view key);

}  // namespace pl::pipeline
