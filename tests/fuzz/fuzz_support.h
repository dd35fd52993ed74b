// Helpers the fuzz targets share: splitting an input into parts, a rich scope to evaluate
// expressions against, and comparing values exactly.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "common/value.h"

namespace pl::fuzz {

// The text before the first '\n' and the text after it ("" when there is none).
std::pair<std::string_view, std::string_view> split_first_line(std::string_view input);

// A scope object with every root the pipeline format has (inputs, steps, global_vars, state, a
// loop frame with a parent) holding every kind of value: nested maps and lists, big and negative
// numbers, doubles, empty containers, unicode, text that looks like templates.
const Value& rich_scope();

// `text` as a scope: its JSON when that is an object, otherwise rich_scope().
Value scope_from(std::string_view text);

// Whether two values are the same: same kinds, same members in the same order, doubles equal
// bit for bit (so NaN is the same as NaN and 0.0 is not -0.0).
bool identical(const Value& a, const Value& b);

// Where two values first differ, for messages: `at /a/0: 1 vs 1.0` ("" when identical).
std::string difference(const Value& a, const Value& b);

// An error every function under test may return: it has a message and is not kInternal (which
// our libraries return only for an exception they caught, such as std::bad_alloc).
// nullopt when fine; otherwise the finding, prefixed with `what`.
std::optional<std::string> check_error(const Error& error, std::string_view what);

}  // namespace pl::fuzz
