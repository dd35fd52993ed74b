// Small text helpers for messages people read.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pl {

// The candidate closest to `word` by edit distance, when it is close enough to be a plausible
// typo (at most a third of the word's length, and at least 1); "" otherwise.
std::string nearest_word(std::string_view word, const std::vector<std::string_view>& candidates);

// " (did you mean \"x\"?)" when nearest_word finds one, "" otherwise.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

// Joins with a separator.
std::string join(const std::vector<std::string>& parts, std::string_view separator);

}  // namespace pl
