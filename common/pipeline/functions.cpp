// The built-in functions of the expression language, as a table (expression_ast.h).
#include <algorithm>
#include <array>
#include <climits>
#include <cmath>

#include "common/json.h"
#include "common/pipeline/expression_ast.h"

namespace pl::pipeline::detail {
namespace {

constexpr int kVariadic = 1000;

Error expects(const FunctionCall& call, std::string_view what, const Value& got) {
  return type_error(call.node.name + "() expects " + std::string(what) + ", got " + describe(got));
}

Result<Value> binary_of(const FunctionCall& call, Op op) {
  return apply_binary(op, call.args[0], call.args[1]);
}

Result<Value> fn_add(const FunctionCall& c) { return binary_of(c, Op::kAdd); }
Result<Value> fn_subtract(const FunctionCall& c) { return binary_of(c, Op::kSub); }
Result<Value> fn_multiply(const FunctionCall& c) { return binary_of(c, Op::kMul); }
Result<Value> fn_divide(const FunctionCall& c) { return binary_of(c, Op::kDiv); }

// min/max over several numbers, or over the one list given.
Result<Value> extreme(const FunctionCall& call, bool want_max) {
  std::span<const Value> values = call.args;
  if (call.args.size() == 1 && call.args[0].is_array()) values = call.args[0].as_array();
  if (values.empty()) return type_error(call.node.name + "() of an empty list");
  const Value* best = nullptr;
  for (const Value& v : values) {
    if (!v.is_number()) return expects(call, "numbers", v);
    if (!best ||
        (want_max ? v.as_double() > best->as_double() : v.as_double() < best->as_double())) {
      best = &v;
    }
  }
  return *best;
}
Result<Value> fn_min(const FunctionCall& c) { return extreme(c, false); }
Result<Value> fn_max(const FunctionCall& c) { return extreme(c, true); }

Result<Value> to_integer(const FunctionCall& call, double d) {
  if (!std::isfinite(d) || d < -9.2e18 || d > 9.2e18) {
    return type_error(call.node.name + "() result does not fit an integer");
  }
  return Value(static_cast<int64_t>(d));
}

// round(x) -> integer; round(x, digits) -> number with that many decimals.
Result<Value> fn_round(const FunctionCall& call) {
  const Value& x = call.args[0];
  if (!x.is_number()) return expects(call, "a number", x);
  if (call.args.size() == 2) {
    const Value& digits = call.args[1];
    if (!digits.is_int() || digits.as_int() < 0 || digits.as_int() > 15) {
      return expects(call, "a number of digits from 0 to 15", digits);
    }
    const double scale = std::pow(10.0, static_cast<double>(digits.as_int()));
    return Value(std::round(x.as_double() * scale) / scale);
  }
  if (x.is_int()) return x;
  return to_integer(call, std::round(x.as_double()));
}

Result<Value> fn_floor(const FunctionCall& call) {
  const Value& x = call.args[0];
  if (!x.is_number()) return expects(call, "a number", x);
  if (x.is_int()) return x;
  return to_integer(call, std::floor(x.as_double()));
}

Result<Value> fn_ceil(const FunctionCall& call) {
  const Value& x = call.args[0];
  if (!x.is_number()) return expects(call, "a number", x);
  if (x.is_int()) return x;
  return to_integer(call, std::ceil(x.as_double()));
}

// Characters (UTF-8 code points) of a string; elements of a list; members of a map.
Result<Value> fn_length(const FunctionCall& call) {
  const Value& x = call.args[0];
  if (x.is_string()) {
    int64_t count = 0;
    for (unsigned char c : x.as_string()) count += (c & 0xC0) != 0x80;
    return Value(count);
  }
  if (x.is_array() || x.is_object()) return Value(static_cast<int64_t>(x.size()));
  return expects(call, "a string, list or map", x);
}

// join(list, separator = ", "): elements as text (strings raw, others as JSON).
Result<Value> fn_join(const FunctionCall& call) {
  const Value& list = call.args[0];
  if (!list.is_array()) return expects(call, "a list", list);
  std::string separator = ", ";
  if (call.args.size() == 2) {
    if (!call.args[1].is_string()) return expects(call, "a string separator", call.args[1]);
    separator = call.args[1].as_string();
  }
  std::string out;
  bool first = true;
  for (const Value& v : list.as_array()) {
    if (!first) out += separator;
    first = false;
    out += text_of(v);
  }
  return Value(std::move(out));
}

Result<Value> string_arg(const FunctionCall& call, const Value& v) {
  if (!v.is_string()) return expects(call, "a string", v);
  return v;
}

Result<Value> fn_upper(const FunctionCall& call) {
  auto s = string_arg(call, call.args[0]);
  if (!s.ok()) return s;
  std::string out = s->as_string();
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return Value(std::move(out));
}

Result<Value> fn_lower(const FunctionCall& call) {
  auto s = string_arg(call, call.args[0]);
  if (!s.ok()) return s;
  std::string out = s->as_string();
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return Value(std::move(out));
}

Result<Value> fn_trim(const FunctionCall& call) {
  auto s = string_arg(call, call.args[0]);
  if (!s.ok()) return s;
  const std::string& text = s->as_string();
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string::npos) return Value("");
  const size_t end = text.find_last_not_of(kSpace);
  return Value(text.substr(begin, end - begin + 1));
}

Result<Value> fn_default(const FunctionCall& call) {  // evaluated lazily by the evaluator
  return call.args[0].is_null() ? call.args[1] : call.args[0];
}

Result<Value> fn_json(const FunctionCall& call) {
  std::string text = to_json(call.args[0]);
  if (text.size() > kMaxJsonResultBytes) {
    return type_error("json() result is " + std::to_string(text.size()) +
                      " bytes, over the limit of " + std::to_string(kMaxJsonResultBytes));
  }
  return Value(std::move(text));
}

// Truthiness of each element, or of the predicate evaluated with the element as `item`.
Result<std::vector<bool>> tests(const FunctionCall& call) {
  const Value& list = call.args[0];
  if (!list.is_array()) return expects(call, "a list", list);
  std::vector<bool> results;
  results.reserve(list.size());
  if (call.args.size() == 1) {
    for (const Value& v : list.as_array()) results.push_back(v.truthy());
    return results;
  }
  NodePtr parsed;
  const Node* predicate = call.node.predicate.get();
  if (!predicate) {
    if (!call.args[1].is_string()) return expects(call, "a predicate string", call.args[1]);
    auto p = parse_node(call.args[1].as_string(), call.depth + 1);
    if (!p.ok()) return std::move(p).error();
    parsed = std::move(*p);
    predicate = parsed.get();
  }
  for (const Value& v : list.as_array()) {
    ItemScope scope(v, call.scope);
    auto r = evaluate_node(*predicate, scope, call.depth + 1, call.budget);
    if (!r.ok()) return std::move(r).error();
    results.push_back(r->truthy());
  }
  return results;
}

Result<Value> fn_any(const FunctionCall& call) {
  auto t = tests(call);
  if (!t.ok()) return std::move(t).error();
  return Value(std::any_of(t->begin(), t->end(), [](bool b) { return b; }));
}

Result<Value> fn_all(const FunctionCall& call) {
  auto t = tests(call);
  if (!t.ok()) return std::move(t).error();
  return Value(std::all_of(t->begin(), t->end(), [](bool b) { return b; }));
}

// count(list) is its length; count(list, predicate) the number of elements that satisfy it.
Result<Value> fn_count(const FunctionCall& call) {
  if (call.args.size() == 1) {
    if (!call.args[0].is_array()) return expects(call, "a list", call.args[0]);
    return Value(static_cast<int64_t>(call.args[0].size()));
  }
  auto t = tests(call);
  if (!t.ok()) return std::move(t).error();
  return Value(static_cast<int64_t>(std::count(t->begin(), t->end(), true)));
}

Result<Value> fn_sum(const FunctionCall& call) {
  const Value& list = call.args[0];
  if (!list.is_array()) return expects(call, "a list", list);
  int64_t int_total = 0;
  double double_total = 0;
  bool any_double = false;
  for (const Value& v : list.as_array()) {
    if (!v.is_number()) return expects(call, "a list of numbers", v);
    if (v.is_double()) {
      any_double = true;
      double_total += v.as_double();
    } else if (__builtin_add_overflow(int_total, v.as_int(), &int_total)) {
      return type_error("sum() overflows an integer");
    }
  }
  if (!any_double) return Value(int_total);
  const double total = double_total + static_cast<double>(int_total);
  if (!std::isfinite(total)) return type_error("sum() overflows a number");
  return Value(total);
}

Result<Value> fn_average(const FunctionCall& call) {
  const Value& list = call.args[0];
  if (!list.is_array()) return expects(call, "a list", list);
  if (list.size() == 0) return type_error("average() of an empty list");
  double total = 0;
  for (const Value& v : list.as_array()) {
    if (!v.is_number()) return expects(call, "a list of numbers", v);
    total += v.as_double();
  }
  return Value(total / static_cast<double>(list.size()));
}

// True for null, "", [] and {}; false for everything else (numbers and bools included).
Result<Value> fn_is_empty(const FunctionCall& call) {
  const Value& x = call.args[0];
  switch (x.kind()) {
    case Value::Kind::kNull:
      return Value(true);
    case Value::Kind::kString:
    case Value::Kind::kArray:
    case Value::Kind::kObject:
      return Value(x.size() == 0);
    default:
      return Value(false);
  }
}

Result<Value> fn_starts_with(const FunctionCall& c) {
  return apply_binary(Op::kStartsWith, c.args[0], c.args[1]);
}
Result<Value> fn_ends_with(const FunctionCall& c) {
  return apply_binary(Op::kEndsWith, c.args[0], c.args[1]);
}

constexpr std::array<FunctionSpec, 26> kFunctions{{
    {"add", 2, 2, false, fn_add},
    {"subtract", 2, 2, false, fn_subtract},
    {"multiply", 2, 2, false, fn_multiply},
    {"divide", 2, 2, false, fn_divide},
    {"min", 1, kVariadic, false, fn_min},
    {"max", 1, kVariadic, false, fn_max},
    {"round", 1, 2, false, fn_round},
    {"floor", 1, 1, false, fn_floor},
    {"ceil", 1, 1, false, fn_ceil},
    {"length", 1, 1, false, fn_length},
    {"join", 1, 2, false, fn_join},
    {"upper", 1, 1, false, fn_upper},
    {"lower", 1, 1, false, fn_lower},
    {"trim", 1, 1, false, fn_trim},
    {"default", 2, 2, false, fn_default},
    {"json", 1, 1, false, fn_json},
    {"any", 1, 2, true, fn_any},
    {"all", 1, 2, true, fn_all},
    {"count", 1, 2, true, fn_count},
    {"sum", 1, 1, false, fn_sum},
    {"average", 1, 1, false, fn_average},
    {"isEmpty", 1, 1, false, fn_is_empty},
    {"startsWith", 2, 2, false, fn_starts_with},
    {"endsWith", 2, 2, false, fn_ends_with},
    {"starts_with", 2, 2, false, fn_starts_with},
    {"ends_with", 2, 2, false, fn_ends_with},
}};

}  // namespace

const FunctionSpec* find_function(std::string_view name) {
  for (const auto& spec : kFunctions) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::vector<std::string_view> function_names() {
  std::vector<std::string_view> names;
  for (const auto& spec : kFunctions) names.push_back(spec.name);
  return names;
}

}  // namespace pl::pipeline::detail
