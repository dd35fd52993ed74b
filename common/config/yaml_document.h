// A YAML file as a Value plus the location of every node, for configs that must report
// problems as file:line:column.
//
// Scalars are typed by the YAML 1.2 core schema: null/~/empty -> null, true/false -> bool,
// integers, floats (.inf/.nan included), everything else a string; a quoted scalar is always a
// string. Mapping keys must be scalars. Aliases are expanded, with a bound on the total number of
// nodes so that an alias bomb is an error rather than an out-of-memory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/source_location.h"
#include "common/value.h"

namespace pl {

struct YamlLimits {
  size_t max_depth = 64;
  size_t max_nodes = 1'000'000;
  size_t max_bytes = 16 * 1024 * 1024;
};

class YamlDocument {
 public:
  const Value& root() const { return root_; }
  const std::string& file() const { return file_; }

  // The location of the node at `path`, a JSON pointer ("/children/0/restart"). For a mapping
  // member, the location of its value. Unknown paths give the file with no line.
  SourceLocation where(std::string_view path) const;
  // The location of a mapping member's key (where "unknown key" errors should point).
  SourceLocation where_key(std::string_view path) const;

 private:
  friend Result<YamlDocument> parse_yaml(std::string_view, const std::string&, const YamlLimits&);
  Value root_;
  std::string file_;
  std::map<std::string, SourceLocation, std::less<>> values_;
  std::map<std::string, SourceLocation, std::less<>> keys_;
};

// Parses YAML text. A syntax error is kInvalidInput with "file:line:column: what".
Result<YamlDocument> parse_yaml(std::string_view text, const std::string& display_name,
                                const YamlLimits& limits = {});
// Reads and parses a file; the display name is the path as given.
Result<YamlDocument> load_yaml_file(const std::filesystem::path& path,
                                    const YamlLimits& limits = {});

// Appends a JSON-pointer segment, escaping '~' and '/'.
std::string pointer_append(std::string_view base, std::string_view segment);
std::string pointer_append(std::string_view base, size_t index);

}  // namespace pl
