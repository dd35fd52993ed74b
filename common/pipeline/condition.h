// Conditions: whether a step runs, whether a while_loop goes on, when a for_loop breaks.
//
// A condition (as written in YAML, unrendered) is one of:
//   null            no condition: true
//   a bool          itself
//   a number        true (numbers are truthy, 0 included)
//   a string        a bare expression ("steps.score.value > 80") or exactly one template
//                   ("{{steps.test.passed}}"); its value's truthiness decides: false for null,
//                   false, "", [] and {}, true otherwise (Value::truthy). Text mixing literal
//                   words and templates is an error, since rendering first would let data
//                   rewrite the condition.
//   a list          all of its conditions (an empty list is true)
//   {and: [...]}    all;  {or: [...]} any;  {not: c} the negation. One key per map.
// Evaluation short-circuits: conditions after the deciding one are not evaluated, so their
// references need not exist.
//
// Errors: the shape errors above (kInvalidInput), nesting deeper than kMaxConditionDepth, and
// every error of the expressions (expression.h), unknown references included.
#pragma once

#include <string_view>
#include <vector>

#include "common/pipeline/expression.h"
#include "common/pipeline/scope.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::pipeline {

inline constexpr int kMaxConditionDepth = 64;

[[nodiscard]] Result<bool> evaluate_condition(const Value& condition, const Scope& scope);

// The expression of one condition string: the inside of a single template, or the string itself.
[[nodiscard]] Result<Expression> parse_condition_string(std::string_view text);

// Checks the whole condition's shape and parses every expression in it, without evaluating:
// the expressions in the order written, or the first problem.
[[nodiscard]] Result<std::vector<Expression>> parse_condition(const Value& condition);

}  // namespace pl::pipeline
