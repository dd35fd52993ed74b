// Identifiers for runs, items and requests.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"

namespace pl {

// A new identifier: `prefix` + 26 characters of Crockford base32 (48 bits of milliseconds since
// the epoch, then 80 random bits), so identifiers sort by creation time. Thread-safe.
std::string new_id(std::string_view prefix, WallTime now = std::chrono::system_clock::now());

// A short random identifier: `prefix` + 13 characters of Crockford base32 (65 random bits),
// for names that are copied often and need only be unique, not ordered: with a prefix of up to
// two characters it fits std::string's inline buffer, so a copy allocates nothing. Thread-safe.
std::string new_short_id(std::string_view prefix);

}  // namespace pl
