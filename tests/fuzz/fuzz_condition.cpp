// Conditions: the first line of the input is a condition, as JSON when it parses (a list, an
// {and|or|not} map, a bool, a number, a string) and as a condition string otherwise; the rest
// is a JSON object to use as the scope (the rich scope of fuzz_support.h when it is not one).
//
// Properties: evaluation and parsing never crash, never take long, and fail only with
// kInvalidInput or kNotFound; parse_condition agrees with parse_condition_string on strings.
#include "common/json.h"
#include "common/pipeline/condition.h"
#include "tests/fuzz/fuzz_entry.h"
#include "tests/fuzz/fuzz_support.h"

namespace pl::fuzz {

Finding condition(std::string_view input) {
  auto [text, scope_text] = split_first_line(input);
  const Value scope_object = scope_from(scope_text);
  const pipeline::ValueScope scope(scope_object);

  auto json = parse_json(text, 200);
  const Value condition = json.ok() ? std::move(*json) : Value(std::string(text));

  auto result = pipeline::evaluate_condition(condition, scope);
  auto parsed = pipeline::parse_condition(condition);
  if (!result.ok()) {
    const Error& e = result.error();
    if (e.code != ErrorCode::kInvalidInput && e.code != ErrorCode::kNotFound) {
      return "evaluate_condition failed with code " + std::to_string(static_cast<int>(e.code)) +
             ": " + e.message;
    }
    if (Finding f = check_error(e, "evaluate_condition")) return f;
  }
  if (!parsed.ok()) return check_error(parsed.error(), "parse_condition");
  if (condition.is_string()) {
    auto single = pipeline::parse_condition_string(condition.as_string());
    if (!single.ok()) return "parse_condition accepted a string parse_condition_string refuses";
  }
  return std::nullopt;
}

}  // namespace pl::fuzz

PL_FUZZ_TARGET(condition)
