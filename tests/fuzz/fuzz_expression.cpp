// The expression language: the first line of the input is an expression, the rest a JSON object
// to use as the scope (the rich scope of fuzz_support.h when it is not one).
//
// Properties: parsing and evaluation never crash, never take long, and fail only with
// kInvalidInput or kNotFound (kInternal means an exception was caught, such as bad_alloc from a
// value that grew without bound); a parsed expression keeps its text; evaluating twice gives the
// same result.
#include "common/pipeline/expression.h"
#include "tests/fuzz/fuzz_entry.h"
#include "tests/fuzz/fuzz_support.h"

namespace pl::fuzz {

Finding expression(std::string_view input) {
  auto [text, scope_text] = split_first_line(input);
  const Value scope_object = scope_from(scope_text);
  const pipeline::ValueScope scope(scope_object);

  auto parsed = pipeline::Expression::parse(text);
  if (!parsed.ok()) return check_error(parsed.error(), "parse");
  if (parsed->text() != text) return "a parsed expression does not keep its text";
  for (const auto& reference : parsed->references()) {
    if (reference.root.empty()) return "a reference without a root: " + reference.text;
  }

  auto first = parsed->evaluate(scope);
  auto second = pipeline::evaluate_expression(text, scope);
  if (first.ok() != second.ok()) return "two evaluations of one expression disagree";
  if (!first.ok()) {
    if (first.error().code != ErrorCode::kInvalidInput &&
        first.error().code != ErrorCode::kNotFound) {
      return "evaluate failed with code " + std::to_string(static_cast<int>(first.error().code)) +
             ": " + first.error().message;
    }
    return check_error(first.error(), "evaluate");
  }
  if (!identical(*first, *second)) return "two evaluations of one expression differ";
  return std::nullopt;
}

}  // namespace pl::fuzz

PL_FUZZ_TARGET(expression)
