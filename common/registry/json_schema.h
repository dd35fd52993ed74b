// The subset of JSON Schema that tool inputs use, checked over Value.
//
// Supported keywords: type (a name or a list of names: string number integer boolean object
// array null), properties, required, additionalProperties (bool or schema), items, enum, const,
// minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers), minLength, maxLength (in code
// points), pattern (ECMAScript, unanchored, fenced: see kMaxPatternLength), minItems, maxItems,
// format (one of the formats the caller checks, through a FormatCheck). Annotations are accepted and ignored:
// title, description, default, examples, $schema, $id, $comment, deprecated, readOnly,
// writeOnly. Any other keyword is refused by check_schema, so that a schema never looks
// stricter than it is.
//
// An integer is a number with no fraction (3 and 3.0 both are). Pure functions; thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/value.h"

namespace pl {

// Patterns go through the fenced matcher of expressions (common/regex_match.h): check_schema
// refuses a pattern longer than kMaxPatternLength or one that can take exponential time ((a+)+,
// backreferences, a+*); validation refuses strings longer than kMaxPatternSubject where a pattern
// applies (a failed search is quadratic in the text).
inline constexpr size_t kMaxPatternLength = 512;
inline constexpr size_t kMaxPatternSubject = 4096;

// Checks a "format" the caller knows about. Returns the problem ("escapes the workspace"), or
// nullopt when the value is fine or the format is not one it knows.
using FormatCheck =
    std::function<std::optional<std::string>(std::string_view format, const std::string& value)>;

// Whether `schema` is a well-formed schema of the subset. kInvalidInput names the place:
// "input_schema.properties.n.minimum: expected a number, got a string",
// "input_schema.properties.x: unsupported keyword \"oneOf\"". A `format` must be one of
// `formats`, those the caller's FormatCheck knows: a misspelt one would check nothing.
Status check_schema(const Value& schema, std::string_view root = "input_schema",
                    std::vector<std::string_view> formats = {});

// Validates `instance` against `schema` (REQUIRES: check_schema(schema) is ok). kInvalidInput
// lists up to 8 problems, "; "-separated, each naming the path from `root`:
// "args.path: expected a string, got a number", "args: missing required property \"path\"",
// "args.mode: \"x\" is not one of [\"a\",\"b\"]".
Status validate_against_schema(const Value& schema, const Value& instance,
                               std::string_view root = "args", const FormatCheck& format = {});

// `instance` with every absent property that declares a `default` filled in, recursively
// through nested object schemas, array `items` and object `additionalProperties`. Other values
// are returned unchanged.
Value apply_schema_defaults(const Value& schema, Value instance);

// `instance` (valid against `schema`) spelled as the schema means it, for a tool's argv: a
// value equal to a member of `enum` or to `const` becomes that member as the schema writes it
// (3.0 against enum [3] is 3), and a whole number where the schema's `type` names "integer"
// becomes an integer (3.0 is 3). Without this, 3.0 would pass the schema and still reach the
// tool as "3.0". A whole number outside int64 where an integer is meant is an error naming its
// place under `path`. Recurses through properties, additionalProperties and items; everything
// else is returned unchanged.
Result<Value> normalize_to_schema(const Value& schema, Value instance, const std::string& path);

}  // namespace pl
