// YAML text -> a tree of nodes that remember where they were written.
//
// The one place that talks to yaml-cpp (privately). The loader reads this tree, so every
// diagnostic can name a file:line:column. Untrusted input is bounded: text size, nesting depth
// and node count (which also stops alias "billion laughs" expansion and alias loops), and every
// yaml-cpp exception becomes a diagnostic.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/pipeline/diagnostic.h"
#include "common/value.h"

namespace pl::pipeline {

inline constexpr size_t kMaxYamlBytes = 16 * 1024 * 1024;
inline constexpr int kMaxYamlDepth = 100;         // nested lists/maps
inline constexpr size_t kMaxYamlNodes = 1000000;  // after aliases are expanded

struct YamlMember;

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };

  Kind kind = Kind::kNull;
  std::string scalar;               // kScalar: the text as written (unquoted)
  bool quoted = false;              // kScalar: quoted, block (| >) or !!str: always a string
  std::vector<YamlNode> items;      // kSequence
  std::vector<YamlMember> members;  // kMap, in file order, without duplicate keys
  SourceLocation where;

  bool is_null() const { return kind == Kind::kNull; }
  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_sequence() const { return kind == Kind::kSequence; }
  bool is_map() const { return kind == Kind::kMap; }

  // A map's member; nullptr when absent or when this is not a map.
  const YamlMember* member(std::string_view key) const;
  const YamlNode* find(std::string_view key) const;

  // A scalar by YAML 1.2 core schema: null (~, null), bool (true/false in three casings),
  // integer (decimal, 0x, 0o), number (decimal with . or exponent, .inf, .nan), else string.
  // Quoted scalars are strings.
  Value scalar_value() const;
  // The whole subtree as a Value (maps as objects).
  Value to_value() const;
  // "null", "bool", "integer", "number", "string", "list" or "map", as Value's kind_name.
  std::string_view kind_word() const;
  // kind_word plus a short excerpt of a scalar: "string \"x\"", "integer 5", "list".
  std::string describe() const;
};

struct YamlMember {
  std::string key;
  SourceLocation key_where;
  YamlNode value;
};

struct YamlDocument {
  std::optional<YamlNode> root;         // set unless the text could not be parsed at all
  std::vector<Diagnostic> diagnostics;  // syntax errors, limits, duplicate keys, ...
};

// Parses exactly one YAML document. `file` is the display name used in locations.
// An empty text (or one with only comments) gives no root and the error "the file is empty".
YamlDocument parse_yaml(std::string_view text, const std::string& file);

}  // namespace pl::pipeline
