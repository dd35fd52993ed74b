#include "common/config/yaml_text.h"

#include <cstdio>

#include "common/utf8.h"

namespace pl {
namespace {

bool starts_with_utf16_or_32_mark(std::string_view text) {
  for (std::string_view mark : {std::string_view("\xFE\xFF"), std::string_view("\xFF\xFE"),
                                std::string_view("\x00\x00\xFE\xFF", 4)}) {
    if (text.substr(0, mark.size()) == mark) return true;
  }
  return false;
}

bool allowed_control(unsigned char c) { return c == '\t' || c == '\n' || c == '\r'; }

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", c);
  return buf;
}

}  // namespace

std::optional<YamlTextFault> yaml_text_fault(std::string_view text) {
  if (starts_with_utf16_or_32_mark(text)) return std::nullopt;
  int line = 1;
  int column = 1;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t len = utf8_sequence_length(text, i);
    if (len == 0) {
      return YamlTextFault{line, column,
                           "the file is not UTF-8 text: byte " + hex_byte(c) +
                               " does not begin a UTF-8 character"};
    }
    if ((c < 0x20 && !allowed_control(c)) || c == 0x7f) {
      return YamlTextFault{line, column,
                           "control character " + hex_byte(c) + " is not allowed in YAML"};
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += len;
  }
  return std::nullopt;
}

std::string tab_indentation_hint(std::string_view text, int error_line) {
  // The nearest such line at or before the error: a tab further up may be a block scalar's
  // content, which the error has nothing to do with.
  int nearest = 0;
  int line = 1;
  for (size_t start = 0; start < text.size() && line <= error_line; ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view content = text.substr(start, end - start);
    const size_t first = content.find_first_not_of(" \t");
    const std::string_view indentation = content.substr(0, first);
    // A line of only blanks indents nothing.
    if (first != std::string_view::npos && indentation.find('\t') != std::string_view::npos) {
      nearest = line;
    }
    start = end + 1;
  }
  if (nearest == 0) return {};
  return "; line " + std::to_string(nearest) +
         " indents with a tab (YAML indents with spaces only)";
}

}  // namespace pl
