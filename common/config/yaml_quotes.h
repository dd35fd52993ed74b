// A check yaml-cpp lacks: a quoted scalar whose closing quote never comes.
#pragma once

#include <cstddef>
#include <string_view>

namespace pl {

// yaml-cpp (0.7) accepts a quoted scalar that is never closed when the text ends with a newline:
// the scalar takes the rest of the file, and a file that lost a quote parses, its later keys
// silently gone into a string. Whether the quoted scalar whose opening quote is at yaml-cpp's
// mark `mark_pos` (a byte offset that does not count a UTF-8 byte-order mark) closes before the
// end of `text`. Anything else at that position (a plain or block scalar): true.
bool yaml_quote_closes(std::string_view text, size_t mark_pos);

inline constexpr std::string_view kYamlUnclosedQuote =
    "YAML syntax error: this quoted string has no closing quote (it runs to the end of the file)";

}  // namespace pl
