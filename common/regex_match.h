// Regular expressions (std::regex, ECMAScript syntax) whose pattern or text we do not control,
// fenced: the `matches` operator of pipeline expressions and the `pattern` of tool input schemas.
//
// std::regex backtracks and recurses once per character, so a long text can overflow the stack
// and some patterns take exponential time. Hence:
//   - backreferences (\1), nested unbounded repetition such as (a+)+, (a*)* or (\w+\s)*, stacked
//     quantifiers (a+*, which std::regex reads as (a+)*) and repetition counts over
//     kMaxRegexRepeat are refused as patterns that can take exponential time;
//   - matching runs on a helper thread with a kRegexStackBytes stack, so the recursion cannot
//     overflow the caller's stack, whatever thread calls;
//   - the caller bounds the pattern's length (max_length) and the text's: a failed search is
//     quadratic (about two seconds for 10 000 bytes with the worst pattern we know, (.|\n)*x).
// Alternations that overlap inside a repetition, (a|a)*, still backtrack exponentially: they
// come from a pipeline's or a tool's author, not from data, and are documented as a pitfall.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace pl {

inline constexpr size_t kRegexStackBytes = size_t{256} << 20;
inline constexpr int kMaxRegexRepeat = 1000;

// Whether `pattern` may be used, without matching anything: kInvalidInput for a pattern over
// `max_length` characters, one that would be refused ("regex \"(a+)+\" is refused: nested
// repetition ...") or a bad one ("bad regex \"(\": ..."); kInternal when the helper thread
// cannot start.
[[nodiscard]] Status check_regex_pattern(const std::string& pattern, size_t max_length);

// Whether `pattern` is found in `text` (a search, not a full match). Errors: those of
// check_regex_pattern. REQUIRES: the caller has bounded text.size().
[[nodiscard]] Result<bool> regex_search_checked(const std::string& text,
                                                const std::string& pattern, size_t max_length);

}  // namespace pl
