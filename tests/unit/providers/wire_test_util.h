// Helpers shared by the wire-format tests.
#pragma once

#include <functional>
#include <string>

#include "common/json.h"
#include "common/value.h"
#include "worker/providers/provider.h"

namespace pl::worker::providers::testing {

// A request with a system prompt, a tool, and a finished tool round trip.
CompletionRequest round_trip_request();

// Calls `check` with every prefix of `body` (the truncated responses of a dropped connection).
void for_each_truncation(const std::string& body, const std::function<void(std::string_view)>& check);

// Calls `check` with copies of `body` in which one member at a time, anywhere in the tree, has
// been replaced by a value of each other kind (null, bool, number, string, list, map).
void for_each_type_mutation(const Value& body, const std::function<void(const Value&)>& check);

}  // namespace pl::worker::providers::testing
