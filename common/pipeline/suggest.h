// "Did you mean ...?" for misspelt names (step types, keys, functions, inputs, step names).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pl::pipeline {

// The candidate closest to `name` by edit distance (insertions, deletions, substitutions and
// swaps of adjacent characters, case-insensitive), when it is close enough to be a plausible
// typo: at most max(1, length / 3) edits. nullopt when nothing is that close.
std::optional<std::string> nearest_name(std::string_view name,
                                        std::span<const std::string_view> candidates);
std::optional<std::string> nearest_name(std::string_view name,
                                        const std::vector<std::string>& candidates);

// " (did you mean \"x\"?)" for the nearest candidate, or "" when there is none.
std::string did_you_mean(std::string_view name, std::span<const std::string_view> candidates);
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

// Optimal string alignment distance, case-insensitive.
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace pl::pipeline
