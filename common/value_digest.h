// A 64-bit digest of a Value's content, stable across processes, builds and versions: it is
// stored with each item result, and a resumed or recovered run reuses a recorded result only
// when the item's input has the same digest now (an edited line of an items file, a changed
// prompt file or earlier result makes the item run again instead of taking another input's
// result). Changing the function would make every recorded result look changed: don't.
//
// Equal values have equal digests; different values collide with probability about 2^-64.
// Kinds are told apart (1 and 1.0, "1" and 1, [] and {} differ). Little-endian hosts only
// (x86-64, arm64), as the whole project.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/value.h"

namespace pl {

uint64_t value_digest(const Value& value);

// 16 lower-case hex digits.
std::string digest_text(uint64_t digest);
// The same 16 hex digits in place, for a caller that only appends them somewhere (an item
// result's record, once per item): no string to allocate.
std::array<char, 16> digest_digits(uint64_t digest);

}  // namespace pl
