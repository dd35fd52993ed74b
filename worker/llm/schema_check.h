// Checks structured output against the subset of JSON Schema that gemini_instructor schemas
// use: `type` (a name or a list of names: object, array, string, integer, number, boolean,
// null), `required`, `properties`, `additionalProperties: false`, `items`, `enum`,
// `minItems`/`maxItems`. Other keywords are ignored (accepted, not checked).
#pragma once

#include "common/result.h"
#include "common/value.h"

namespace pl::worker::llm {

// ok, or kStepFailed naming the first problem by its path: "$.endpoints[0].method: expected one
// of \"GET\", \"POST\"". Depth-limited (a schema nested deeper than 32 levels is not followed).
Status check_against_schema(const Value& value, const Value& schema);

}  // namespace pl::worker::llm
