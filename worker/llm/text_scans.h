// Scans of a model's text for claude_extract's post-processing (see extraction.h for what each
// finds). Pure functions; each list keeps the order found, drops repeats, and holds at most 200
// entries.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/value.h"

namespace pl::worker::llm {

// One line of a text, and whether it lies in a fenced code block (``` or ~~~).
struct TextLine {
  std::string_view text;  // without its line ending
  bool code = false;      // inside a fence, or a fence line itself
  bool fence = false;     // a fence line
};

// The lines of `text` (which must outlive them).
std::vector<TextLine> text_lines(std::string_view text);

// `s` without leading and trailing white space.
std::string_view trim_space(std::string_view s);

// [{language, code}] from fenced blocks; an unclosed fence runs to the end.
Value code_blocks(std::string_view text);
// http(s) URLs, without trailing punctuation.
Value links(std::string_view text);
// Lines outside code that recommend, suggest, advise, or say "should" / "consider".
Value recommendations(std::string_view text);
// Bullet and numbered list items outside code, without their markers.
Value key_points(std::string_view text);
// Runs of Capitalised Words (not a lone common or sentence-initial word) and `code` spans.
Value entities(std::string_view text);
// Lines that mention an error, exception, failure, traceback or panic.
Value error_lines(std::string_view text);
// [{heading, level, content}] per Markdown heading; text before the first is level 0.
Value markdown_sections(std::string_view text);
// At most `max_chars` characters, cut at a word with "..." when cut.
std::string summary_of(std::string_view text, size_t max_chars);

}  // namespace pl::worker::llm
