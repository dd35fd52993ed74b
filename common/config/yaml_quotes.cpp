#include "common/config/yaml_quotes.h"

namespace pl {

bool yaml_quote_closes(std::string_view text, size_t mark_pos) {
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  const size_t at = mark_pos + (text.substr(0, 3) == kByteOrderMark ? 3 : 0);
  if (at >= text.size()) return true;
  const char quote = text[at];
  if (quote != '"' && quote != '\'') return true;
  for (size_t i = at + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;  // an escape: the next character is not the end
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' inside single quotes is a quote
      } else {
        return true;
      }
    }
  }
  return false;
}

}  // namespace pl
