#include "common/pipeline/condition.h"

#include <array>

#include "common/pipeline/expression_ast.h"
#include "common/pipeline/no_throw.h"
#include "common/pipeline/suggest.h"
#include "common/pipeline/template.h"

namespace pl::pipeline {
namespace {

constexpr std::array<std::string_view, 3> kConditionKeys{"and", "or", "not"};

Error shape_error(std::string message) {
  return make_error(ErrorCode::kInvalidInput, std::move(message));
}

// The one key of a condition map, checked.
Result<std::string> connective(const Value& condition) {
  const auto& members = condition.as_object();
  if (members.size() != 1) {
    return shape_error("a condition map has exactly one key, \"and\", \"or\" or \"not\"; got " +
                       std::to_string(members.size()));
  }
  const auto& [key, operand] = *members.begin();
  if (key != "and" && key != "or" && key != "not") {
    return shape_error("unknown condition key \"" + key + "\"" + did_you_mean(key, kConditionKeys) +
                       "; use \"and\", \"or\" or \"not\"");
  }
  if (key != "not" && !operand.is_array()) {
    return shape_error("\"" + key + "\" takes a list of conditions, got " +
                       a_kind(operand.kind()));
  }
  return key;
}

Result<bool> evaluate(const Value& condition, const Scope& scope, int depth) {
  if (depth > kMaxConditionDepth) {
    return shape_error("condition nests deeper than " + std::to_string(kMaxConditionDepth) +
                       " levels");
  }
  switch (condition.kind()) {
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kBool:
      return condition.as_bool();
    case Value::Kind::kInt:
    case Value::Kind::kDouble:
      return true;
    case Value::Kind::kString: {
      auto expression = parse_condition_string(condition.as_string());
      if (!expression.ok()) return std::move(expression).error();
      auto v = expression->evaluate(scope);
      if (!v.ok()) return std::move(v).error();
      return v->truthy();
    }
    case Value::Kind::kArray:
      for (const Value& part : condition.as_array()) {
        auto r = evaluate(part, scope, depth + 1);
        if (!r.ok() || !*r) return r;
      }
      return true;
    case Value::Kind::kObject: {
      auto key = connective(condition);
      if (!key.ok()) return std::move(key).error();
      const Value& operand = condition.as_object().begin()->second;
      if (*key == "not") {
        auto r = evaluate(operand, scope, depth + 1);
        if (!r.ok()) return r;
        return !*r;
      }
      const bool is_and = *key == "and";
      for (const Value& part : operand.as_array()) {
        auto r = evaluate(part, scope, depth + 1);
        if (!r.ok()) return r;
        if (*r != is_and) return *r;
      }
      return is_and;
    }
  }
  return true;
}

Status collect(const Value& condition, int depth, std::vector<Expression>& out) {
  if (depth > kMaxConditionDepth) {
    return shape_error("condition nests deeper than " + std::to_string(kMaxConditionDepth) +
                       " levels");
  }
  switch (condition.kind()) {
    case Value::Kind::kString: {
      auto expression = parse_condition_string(condition.as_string());
      if (!expression.ok()) return std::move(expression).error();
      out.push_back(std::move(*expression));
      return ok_status();
    }
    case Value::Kind::kArray:
      for (const Value& part : condition.as_array()) {
        Status s = collect(part, depth + 1, out);
        if (!s.ok()) return s;
      }
      return ok_status();
    case Value::Kind::kObject: {
      auto key = connective(condition);
      if (!key.ok()) return std::move(key).error();
      return collect(condition.as_object().begin()->second, depth + 1, out);
    }
    default:
      return ok_status();
  }
}

}  // namespace

Result<Expression> parse_condition_string(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t begin = text.find_first_not_of(kSpace);
  text = begin == std::string_view::npos
             ? std::string_view()
             : text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
  if (!has_template(text)) return Expression::parse(text);
  auto parsed = Template::parse(text);
  if (!parsed.ok()) return std::move(parsed).error();
  if (!parsed->is_single_expression()) {
    return shape_error(
        "a condition is an expression or a single {{ }} template, not text with "
        "templates in it: \"" +
        std::string(text) + "\"");
  }
  return parsed->expressions().front();
}

Result<bool> evaluate_condition(const Value& condition, const Scope& scope) {
  return detail::no_throw("evaluating a condition",
                          [&]() { return evaluate(condition, scope, 0); });
}

Result<std::vector<Expression>> parse_condition(const Value& condition) {
  std::vector<Expression> out;
  Status s = collect(condition, 0, out);
  if (!s.ok()) return std::move(s).error();
  return out;
}

}  // namespace pl::pipeline
