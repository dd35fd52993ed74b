// An executor's option as a template may have rendered it: "{{inputs.n}}" inside other text, or
// from a `--input n=100` given on the command line, is the text "100". Executors read such text
// as the value it spells, and anything else as an error, never as a quiet default.
#pragma once

#include <cstdint>
#include <optional>

#include "common/value.h"

namespace pl::worker {

// An integer, a whole number of magnitude under 1e15, or decimal text ("-3"); nullopt otherwise.
std::optional<int64_t> option_integer(const Value& v);

// true or false, or the text "true" or "false"; nullopt otherwise.
std::optional<bool> option_boolean(const Value& v);

}  // namespace pl::worker
