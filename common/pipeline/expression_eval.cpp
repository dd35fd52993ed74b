// Evaluation of the expression tree against a Scope.
#include <climits>
#include <cmath>
#include <optional>
#include <vector>

#include "common/json.h"
#include "common/pipeline/expression.h"
#include "common/pipeline/expression_ast.h"
#include "common/pipeline/no_throw.h"
#include "common/pipeline/suggest.h"
#include "common/regex_match.h"

namespace pl::pipeline {
namespace detail {
namespace {

constexpr size_t kMaxExcerpt = 40;
constexpr size_t kMaxKeysToSuggestFrom = 1000;

Error reference_error(const Node& path, const std::string& detail) {
  return not_found_error("unknown reference \"" + path.text + "\": " + detail);
}

// `.name`, as opposed to `[expr]`, `["name"]` or `.0`.
bool is_plain_member(const Segment& segment) {
  return !segment.computed && !segment.index && !segment.text.empty() && segment.text[0] == '.';
}

Error operand_error(Op op, const Value& a, const Value& b) {
  return type_error("operator \"" + std::string(op_text(op)) + "\" cannot apply to " + describe(a) +
                    " and " + describe(b));
}

bool is_empty_value(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kString:
    case Value::Kind::kArray:
    case Value::Kind::kObject:
      return v.size() == 0;
    default:
      return false;
  }
}

Result<Value> checked_double(double d, Op op) {
  if (!std::isfinite(d)) {
    return type_error("number overflow in \"" + std::string(op_text(op)) + "\"");
  }
  return Value(d);
}

Result<Value> arithmetic(Op op, const Value& a, const Value& b) {
  if (op == Op::kAdd && a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
  if (op == Op::kAdd && a.is_array() && b.is_array()) {
    Value::Array joined = a.as_array();
    joined.insert(joined.end(), b.as_array().begin(), b.as_array().end());
    return Value(std::move(joined));
  }
  if (!a.is_number() || !b.is_number()) return operand_error(op, a, b);
  if (a.is_int() && b.is_int()) {
    const int64_t x = a.as_int(), y = b.as_int();
    int64_t r = 0;
    bool overflow = false;
    switch (op) {
      case Op::kAdd:
        overflow = __builtin_add_overflow(x, y, &r);
        break;
      case Op::kSub:
        overflow = __builtin_sub_overflow(x, y, &r);
        break;
      case Op::kMul:
        overflow = __builtin_mul_overflow(x, y, &r);
        break;
      case Op::kDiv:
        if (y == 0) return type_error("division by zero in \"" + std::string(op_text(op)) + "\"");
        overflow = x == INT64_MIN && y == -1;
        if (!overflow) r = x / y;
        break;
      case Op::kMod:
        if (y == 0) return type_error("division by zero in \"%\"");
        r = y == -1 ? 0 : x % y;
        break;
      default:
        return operand_error(op, a, b);
    }
    if (overflow) return type_error("integer overflow in \"" + std::string(op_text(op)) + "\"");
    return Value(r);
  }
  const double x = a.as_double(), y = b.as_double();
  switch (op) {
    case Op::kAdd:
      return checked_double(x + y, op);
    case Op::kSub:
      return checked_double(x - y, op);
    case Op::kMul:
      return checked_double(x * y, op);
    case Op::kDiv:
      if (y == 0) return type_error("division by zero in \"/\"");
      return checked_double(x / y, op);
    case Op::kMod:
      if (y == 0) return type_error("division by zero in \"%\"");
      return checked_double(std::fmod(x, y), op);
    default:
      return operand_error(op, a, b);
  }
}

// <0, 0, >0 for two numbers or two strings; an error for anything else.
Result<int> order(Op op, const Value& a, const Value& b) {
  if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
  if (a.is_number() && b.is_number()) {
    const double x = a.as_double(), y = b.as_double();
    if (std::isnan(x) || std::isnan(y)) return operand_error(op, a, b);
    return x < y ? -1 : x > y;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : c > 0;
  }
  return operand_error(op, a, b);
}

Result<bool> contains(Op op, const Value& haystack, const Value& needle) {
  if (haystack.is_string() && needle.is_string()) {
    return haystack.as_string().find(needle.as_string()) != std::string::npos;
  }
  if (haystack.is_array()) {
    for (const Value& element : haystack.as_array()) {
      if (values_equal(element, needle)) return true;
    }
    return false;
  }
  if (haystack.is_object() && needle.is_string())
    return haystack.find(needle.as_string()) != nullptr;
  return op == Op::kContains ? operand_error(op, haystack, needle)
                             : operand_error(op, needle, haystack);
}

Result<bool> regex_matches(const Value& text, const Value& pattern) {
  if (!text.is_string() || !pattern.is_string()) return operand_error(Op::kMatches, text, pattern);
  if (text.as_string().size() > kMaxRegexSubject) {
    return type_error("\"matches\" on a text of " + std::to_string(text.as_string().size()) +
                      " bytes, over the limit of " + std::to_string(kMaxRegexSubject) +
                      " (use \"contains\" for plain text)");
  }
  return regex_search_checked(text.as_string(), pattern.as_string(), kMaxRegexLength);
}

class Evaluator {
 public:
  Evaluator(const Scope& scope, int depth, EvaluationBudget& budget)
      : scope_(scope), depth_(depth), budget_(budget) {}

  Result<Value> eval(const Node& node) {
    if (budget_.steps_left == 0) {
      return type_error("evaluation takes more than " + std::to_string(kMaxEvaluationSteps) +
                        " steps (nested any/all/count over long lists?)");
    }
    --budget_.steps_left;
    switch (node.kind) {
      case NodeKind::kLiteral:
        return node.literal;
      case NodeKind::kList: {
        Value::Array elements;
        elements.reserve(node.children.size());
        for (const auto& child : node.children) {
          auto v = eval(*child);
          if (!v.ok()) return v;
          elements.push_back(std::move(*v));
        }
        return Value(std::move(elements));
      }
      case NodeKind::kPath:
        return path(node);
      case NodeKind::kUnary:
        return unary(node);
      case NodeKind::kBinary:
        return binary(node);
      case NodeKind::kBetween:
        return between(node);
      case NodeKind::kCall:
        return call(node);
    }
    return type_error("internal: unknown expression node");
  }

 private:
  // Whether member `i` of the walk reads a step result, whose `data` members then read as its
  // own, as pipeline_ex writes them: `steps.find.files` and `find.files` (a bare step name).
  bool reads_step_result(const Node& node, size_t i) const {
    if (!node.children.empty()) return false;
    if (node.name == kRootSteps) return i == 1;
    return i == 0 && scope_.names_step(node.name);
  }

  Result<Value> path(const Node& node) {
    // Computed indexes first: evaluating one may read the scope (`loop.x[length(loop) - 1]`),
    // and a read may invalidate the pointers the scope handed out before (Scope::root), so no
    // pointer into the scope is held across an evaluation. An index's error waits for its
    // segment: a missing root is still reported first.
    // (Sized only when some index is computed: most paths, `loop.item`, have none.)
    std::vector<std::optional<Result<Value>>> computed;
    for (size_t i = 0; i < node.segments.size(); ++i) {
      if (!node.segments[i].computed) continue;
      if (computed.empty()) computed.resize(node.segments.size());
      computed[i].emplace(eval(*node.segments[i].computed));
    }
    Value base;
    const Value* current = nullptr;
    std::string label;
    size_t first = 0;  // the first segment still to walk
    if (node.children.empty()) {
      // `loop.NAME`: the scope may hand the member over without building the root. Otherwise
      // (or when it has none) the walk below starts at the root and says what is missing.
      if (!node.segments.empty() && is_plain_member(node.segments[0])) {
        current = scope_.member(node.name, node.segments[0].key);
        if (current) {
          label = node.segments[0].key;
          first = 1;
        }
      }
      if (!current) {
        current = scope_.root(node.name);
        if (!current) return reference_error(node, "nothing is named \"" + node.name + "\"");
        label = node.name;
      }
    } else {
      auto v = eval(*node.children[0]);
      if (!v.ok()) return v;
      base = std::move(*v);
      current = &base;
      label = node.children[0]->text;
    }
    for (size_t i = first; i < node.segments.size(); ++i) {
      const Segment& segment = node.segments[i];
      std::string key = segment.key;
      std::optional<int64_t> index = segment.index;
      if (segment.computed) {
        const Result<Value>& k = *computed[i];
        if (!k.ok()) return k.error();
        if (k->is_int()) {
          index = k->as_int();
          key = std::to_string(*index);
        } else if (k->is_string()) {
          key = k->as_string();
        } else {
          return type_error("an index into \"" + label + "\" must be an integer or a string, got " +
                            describe(*k));
        }
      }
      const Value* next = nullptr;
      if (current->is_array()) {
        if (!index) return reference_error(node, "\"" + label + "\" is a list, not a map");
        const auto& elements = current->as_array();
        if (*index < 0 || static_cast<uint64_t>(*index) >= elements.size()) {
          return reference_error(node, "\"" + label + "\" has " + std::to_string(elements.size()) +
                                           " elements, no index " + std::to_string(*index));
        }
        next = &elements[static_cast<size_t>(*index)];
      } else if (current->is_object()) {
        next = current->find(key);
        if (!next && reads_step_result(node, i)) {
          // The result's own members come first.
          if (const Value* data = current->find("data"); data && data->is_object()) {
            next = data->find(key);
          }
        }
        if (!next) {
          std::string hint;
          if (current->size() <= kMaxKeysToSuggestFrom) {
            std::vector<std::string> keys;
            for (const auto& [k, v] : current->as_object()) keys.push_back(k);
            hint = did_you_mean(key, keys);
          }
          return reference_error(node, "\"" + label + "\" has no member \"" + key + "\"" + hint);
        }
      } else if (current->is_null()) {
        return reference_error(node, "\"" + label + "\" is null");
      } else {
        return reference_error(
            node, "\"" + label + "\" is " + describe(*current) + ", not a map or a list");
      }
      current = next;
      label = is_plain_member(segment) ? key : label + "[" + key + "]";
    }
    return *current;
  }

  Result<Value> unary(const Node& node) {
    const Node& operand = *node.children[0];
    auto v = eval(operand);
    if (node.op == Op::kExists) {
      if (!v.ok()) {
        if (v.error().code == ErrorCode::kNotFound) return Value(false);
        return v;
      }
      return Value(!v->is_null());
    }
    if (!v.ok()) return v;
    switch (node.op) {
      case Op::kNot:
        return Value(!v->truthy());
      case Op::kEmpty:
        return Value(is_empty_value(*v));
      case Op::kNeg:
        if (v->is_int()) {
          if (v->as_int() == INT64_MIN) return type_error("integer overflow in \"-\"");
          return Value(-v->as_int());
        }
        if (v->is_double()) return Value(-v->as_double());
        return type_error("operator \"-\" cannot apply to " + describe(*v));
      default:
        return type_error("internal: bad unary operator");
    }
  }

  Result<Value> binary(const Node& node) {
    auto left = eval(*node.children[0]);
    if (!left.ok()) return left;
    if (node.op == Op::kAnd || node.op == Op::kOr) {
      const bool l = left->truthy();
      if (node.op == Op::kAnd && !l) return Value(false);
      if (node.op == Op::kOr && l) return Value(true);
      auto right = eval(*node.children[1]);
      if (!right.ok()) return right;
      return Value(right->truthy());
    }
    auto right = eval(*node.children[1]);
    if (!right.ok()) return right;
    return apply_binary(node.op, *left, *right);
  }

  Result<Value> between(const Node& node) {
    Value values[3];
    for (int i = 0; i < 3; ++i) {
      auto v = eval(*node.children[i]);
      if (!v.ok()) return v;
      values[i] = std::move(*v);
    }
    auto low = order(Op::kGe, values[0], values[1]);
    if (!low.ok())
      return type_error("\"between\" cannot compare " + describe(values[0]) + " with " +
                        describe(values[1]));
    auto high = order(Op::kLe, values[0], values[2]);
    if (!high.ok())
      return type_error("\"between\" cannot compare " + describe(values[0]) + " with " +
                        describe(values[2]));
    return Value(*low >= 0 && *high <= 0);
  }

  Result<Value> call(const Node& node) {
    if (node.name == "default") {
      auto first = eval(*node.children[0]);
      if (first.ok() && !first->is_null()) return first;
      if (!first.ok() && first.error().code != ErrorCode::kNotFound) return first;
      return eval(*node.children[1]);
    }
    const FunctionSpec* spec = find_function(node.name);
    if (!spec) return type_error("unknown function \"" + node.name + "\"");
    std::vector<Value> args;
    args.reserve(node.children.size());
    for (const auto& child : node.children) {
      auto v = eval(*child);
      if (!v.ok()) return v;
      args.push_back(std::move(*v));
    }
    auto result = spec->call(FunctionCall{node, args, scope_, depth_, budget_});
    if (!result.ok() && result.error().code == ErrorCode::kInvalidInput &&
        result.error().message.rfind(node.name + "(", 0) != 0) {
      return type_error(node.name + "(): " + result.error().message);
    }
    return result;
  }

  const Scope& scope_;
  int depth_;
  EvaluationBudget& budget_;
};

}  // namespace

Error type_error(std::string message) {
  return make_error(ErrorCode::kInvalidInput, std::move(message));
}

Error not_found_error(std::string message) {
  return make_error(ErrorCode::kNotFound, std::move(message));
}

std::string describe(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kString: {
      const std::string& s = v.as_string();
      if (s.size() <= kMaxExcerpt) return "string \"" + s + "\"";
      return "string \"" + s.substr(0, kMaxExcerpt) + "...\"";
    }
    case Value::Kind::kArray:
    case Value::Kind::kObject:
      return std::string(kind_name(v.kind()));
    default:
      return std::string(kind_name(v.kind())) + " " + to_json(v);
  }
}

std::string text_of(const Value& v) { return v.is_string() ? v.as_string() : to_json(v); }

Result<Value> apply_binary(Op op, const Value& left, const Value& right) {
  switch (op) {
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMod:
      return arithmetic(op, left, right);
    case Op::kEq:
      return Value(values_equal(left, right));
    case Op::kNe:
      return Value(!values_equal(left, right));
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: {
      auto c = order(op, left, right);
      if (!c.ok()) return std::move(c).error();
      switch (op) {
        case Op::kLt:
          return Value(*c < 0);
        case Op::kLe:
          return Value(*c <= 0);
        case Op::kGt:
          return Value(*c > 0);
        default:
          return Value(*c >= 0);
      }
    }
    case Op::kContains: {
      auto r = contains(op, left, right);
      if (!r.ok()) return std::move(r).error();
      return Value(*r);
    }
    case Op::kIn:
    case Op::kNotIn: {
      auto r = contains(op, right, left);
      if (!r.ok()) return std::move(r).error();
      return Value(op == Op::kIn ? *r : !*r);
    }
    case Op::kStartsWith:
    case Op::kEndsWith: {
      if (!left.is_string() || !right.is_string()) return operand_error(op, left, right);
      const std::string& s = left.as_string();
      const std::string& p = right.as_string();
      if (p.size() > s.size()) return Value(false);
      return Value(op == Op::kStartsWith ? s.compare(0, p.size(), p) == 0
                                         : s.compare(s.size() - p.size(), p.size(), p) == 0);
    }
    case Op::kMatches: {
      auto r = regex_matches(left, right);
      if (!r.ok()) return std::move(r).error();
      return Value(*r);
    }
    default:
      return type_error("internal: bad binary operator");
  }
}

Result<Value> evaluate_node(const Node& node, const Scope& scope, int depth,
                            EvaluationBudget& budget) {
  if (depth > kMaxExpressionDepth) {
    return type_error("expressions nest deeper than " + std::to_string(kMaxExpressionDepth) +
                      " levels");
  }
  return Evaluator(scope, depth, budget).eval(node);
}

}  // namespace detail

Result<Expression> Expression::parse(std::string_view text) {
  return detail::no_throw("parsing an expression", [&]() -> Result<Expression> {
    auto node = detail::parse_node(text, 0);
    if (!node.ok()) return std::move(node).error();
    return Expression(std::string(text), std::shared_ptr<const detail::Node>(std::move(*node)));
  });
}

Result<Value> Expression::evaluate(const Scope& scope) const {
  return detail::no_throw("evaluating an expression", [&]() {
    detail::EvaluationBudget budget;
    return detail::evaluate_node(*root_, scope, 0, budget);
  });
}

namespace {

void collect(const detail::Node& node, bool guarded, std::vector<ReferenceUse>& out) {
  using detail::NodeKind;
  if (node.kind == NodeKind::kPath) {
    if (node.children.empty()) {
      ReferenceUse use;
      use.text = node.text;
      use.root = node.name;
      use.guarded = guarded;
      for (const auto& segment : node.segments) {
        if (segment.computed) break;
        use.path.push_back(segment.key);
      }
      out.push_back(std::move(use));
    } else {
      collect(*node.children[0], guarded, out);
    }
    for (const auto& segment : node.segments) {
      if (segment.computed) collect(*segment.computed, guarded, out);
    }
    return;
  }
  const bool guards_first = (node.kind == NodeKind::kCall && node.name == "default") ||
                            (node.kind == NodeKind::kUnary && node.op == detail::Op::kExists);
  for (size_t i = 0; i < node.children.size(); ++i) {
    collect(*node.children[i], guarded || (guards_first && i == 0), out);
  }
}

Status check_literal_patterns(const detail::Node& node) {
  if (node.kind == detail::NodeKind::kBinary && node.op == detail::Op::kMatches &&
      node.children.size() == 2 && node.children[1]->kind == detail::NodeKind::kLiteral &&
      node.children[1]->literal.is_string()) {
    Status st = check_regex_pattern(node.children[1]->literal.as_string(), kMaxRegexLength);
    if (!st.ok() && st.error().code == ErrorCode::kInvalidInput) {
      return st.error().with_context(node.text);
    }
  }
  for (const auto& child : node.children) {
    if (Status st = check_literal_patterns(*child); !st.ok()) return st;
  }
  return ok_status();
}

}  // namespace

Status Expression::check_patterns() const { return check_literal_patterns(*root_); }

std::vector<ReferenceUse> Expression::references() const {
  std::vector<ReferenceUse> out;
  collect(*root_, false, out);
  return out;
}

Result<Value> evaluate_expression(std::string_view expr, const Scope& scope) {
  auto parsed = Expression::parse(expr);
  if (!parsed.ok()) return std::move(parsed).error();
  return parsed->evaluate(scope);
}

}  // namespace pl::pipeline
