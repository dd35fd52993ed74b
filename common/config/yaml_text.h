// Checks of a YAML file's text that yaml-cpp (0.7) does not make, or makes in words that do not
// say what is wrong. Used by both YAML readers (configs and tool files: yaml_document.h;
// pipelines: common/pipeline/yaml_tree.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pl {

// A place in the text (1-based; the column counts characters) and what is wrong there.
struct YamlTextFault {
  int line = 0;
  int column = 0;
  std::string message;
};

// The first byte that is not well-formed UTF-8, or the first control character YAML does not
// allow (below 0x20 but tab, newline and carriage return; DEL). yaml-cpp keeps the former in its
// strings, which then come out as U+FFFD, and reports the latter as some other error at some
// other place. A text that starts with a UTF-16 or UTF-32 byte-order mark is left to yaml-cpp,
// which decodes it.
std::optional<YamlTextFault> yaml_text_fault(std::string_view text);

// What to add to a syntax error at line `error_line`: "; line N indents with a tab (YAML indents
// with spaces only)" for the last line up to it whose indentation holds a tab; empty when none
// does. yaml-cpp reports such a tab as "illegal map value" or the like, further on.
std::string tab_indentation_hint(std::string_view text, int error_line);

}  // namespace pl
