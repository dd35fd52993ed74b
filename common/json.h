// JSON text <-> Value.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/value.h"

namespace pl {

enum class JsonStyle { kCompact, kPretty };

// Serialises v. Never fails: invalid UTF-8 bytes become U+FFFD, NaN and infinities become null
// (JSON has no spelling for them).
std::string to_json(const Value& v, JsonStyle style = JsonStyle::kCompact);
void append_json(std::string& out, const Value& v, JsonStyle style = JsonStyle::kCompact);
// Pretty JSON of `v` as it sits `depth` levels deep in a pretty document: its inner lines
// indented by `depth` more levels (a streamed document's parts, written one by one).
void append_pretty_json_at(std::string& out, const Value& v, int depth);

// Parses one JSON document. Errors (kInvalidInput) say "line L, column C: what"; nesting deeper
// than max_depth is an error rather than a stack overflow. Integers that fit int64 stay
// integers; other numbers become doubles.
Result<Value> parse_json(std::string_view text, size_t max_depth = 128);

}  // namespace pl
