// `matches` in expressions: std::regex (ECMAScript syntax), fenced for pipeline conditions.
//
// std::regex backtracks and recurses once per character, so a long text can overflow the stack
// and some patterns take exponential time. Hence:
//   - a pattern has at most kMaxRegexLength characters; backreferences (\1) and nested unbounded
//     repetition such as (a+)+, (a*)* or (\w+\s)* are refused as patterns that can take
//     exponential time, as are stacked quantifiers (a+*, which std::regex reads as (a+)*), and
//     repetition counts over kMaxRegexRepeat are refused;
//   - a text has at most kMaxRegexSubject bytes (a failed search is quadratic: about two seconds
//     at the limit for the worst pattern we know, (.|\n)*x);
//   - matching runs on a helper thread with a kRegexStackBytes stack, so the recursion cannot
//     overflow the caller's stack, whatever thread evaluates the condition.
// Alternations that overlap inside a repetition, (a|a)*, still backtrack exponentially: they
// come from the pipeline's author, not from data, and are documented as a pitfall.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace pl::pipeline {

inline constexpr size_t kRegexStackBytes = size_t{256} << 20;
inline constexpr int kMaxRegexRepeat = 1000;

// Whether `pattern` is found in `text` (a search, not a full match). Errors (kInvalidInput):
// a bad pattern ("bad regex \"(\": ..."), a refused pattern, a text or pattern over its limit.
[[nodiscard]] Result<bool> regex_search_safely(const std::string& text, const std::string& pattern);

// The check above without matching: an error for a pattern that would be refused.
[[nodiscard]] Status check_regex_pattern(const std::string& pattern);

}  // namespace pl::pipeline
