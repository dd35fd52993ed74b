// Ordering and naming of Values for the data operations: one total order (for sort, min, max,
// distinct counts and join indexes), the text form a value has as a group or mapping key, and
// the words messages use for kinds.
#pragma once

#include <string>

#include "common/result.h"
#include "common/value.h"

namespace pl::worker::data {

// A total order over all Values: null < bools < numbers < strings < lists < maps. Numbers compare
// by exact value whatever their kind (1 == 1.0; 2^53 + 1 > 2^53 as a double; NaN after every
// other number and equal to itself); strings bytewise; lists element by element, a prefix
// first; maps by their sorted (key, value) pairs. Returns <0, 0 or >0.
int compare_values(const Value& a, const Value& b);

// compare_values as a strict weak order, for std::map / std::set / std::stable_sort.
struct ValueLess {
  bool operator()(const Value& a, const Value& b) const { return compare_values(a, b) < 0; }
};

// Kinds that compare meaningfully with each other: numbers (integers and decimals together),
// strings, bools, and the rest (null, lists, maps), which sort cannot order.
enum class KindFamily { kNull, kBool, kNumber, kString, kOther };
KindFamily family_of(const Value& v);

// "a string", "an integer", "a number", "a list", "a map", "a bool", "null".
std::string kind_phrase(const Value& v);

// The text of a scalar as a key: a string is itself; integers in decimal; a whole decimal as
// the integer (1.0 keys as 1), other decimals as JSON writes them; true/false; null as "null".
// Errors (kInvalidInput) for lists and maps.
[[nodiscard]] Result<std::string> key_text(const Value& v);

}  // namespace pl::worker::data
