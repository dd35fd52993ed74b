// The expression language of templates and conditions.
//
//   references   inputs.x  steps.NAME.path  NAME.path  global_vars.x  state.x  loop.ITERATOR
//                loop.index  loop.parent.index ...; path segments .name  .0  [0]  ["key"]  [expr]
//                steps.NAME.KEY and NAME.KEY read the step result's data.KEY when the result
//                has no KEY of its own (Scope::names_step says which bare names are steps)
//   literals     42  -7  3.14  'single'  "double"  true  false  null  [1, "a", x]
//   arithmetic   + - * / %     int op int stays an integer (/ truncates); a double makes a
//                              double; + joins two strings or two lists
//   comparison   == != < <= > >=   contains  in  not_in  starts_with  ends_with  matches
//                x between A and B   x exists   x empty      (matches: common/regex_match.h)
//   logic        and  or  not        (short-circuit; result is a bool from truthiness)
//   functions    add subtract multiply divide min max round floor ceil length join upper lower
//                trim default(x, y) json(x) any all count sum average isEmpty startsWith
//                endsWith; any/all/count take an optional predicate string evaluated per
//                element, which sees `item` and the element's members ('status == "failed"')
//
// Precedence, loosest first: or, and, not, comparison (not chainable), + -, * / %, unary -,
// postfix (.name [i] call). Strings escape \\ \' \" \n \t \r; any other backslash is kept, so
// regex patterns read naturally.
//
// Errors (never exceptions) name what went wrong:
//   kNotFound     an unknown reference: `unknown reference "steps.fetch.missing": "fetch" has
//                 no member "missing"`. default(x, y) and `x exists` treat exactly this as absent.
//   kInvalidInput syntax errors with their column, type errors naming the operator or function
//                 and the kinds involved, division by zero, integer overflow, bad regex,
//                 nesting, length, evaluation steps or json() size over the limits below.
//
// Parsed expressions are immutable: one may be evaluated from several threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/pipeline/scope.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::pipeline {

inline constexpr size_t kMaxExpressionLength = 10000;  // characters of one expression
inline constexpr int kMaxExpressionDepth = 64;         // nesting of parentheses, lists, operators
inline constexpr size_t kMaxRegexLength = 1000;        // characters of a `matches` pattern
inline constexpr size_t kMaxRegexSubject = 10000;      // bytes of the text of `matches`
// Operations one evaluation may take, the predicates of any/all/count included (nested
// predicates over literal lists multiply: a few hundred characters could take hours); well
// under a second of work.
inline constexpr size_t kMaxEvaluationSteps = 4'000'000;
// Bytes json(x) may produce (each json() of a string can double it: json(json(json(...)))).
inline constexpr size_t kMaxJsonResultBytes = size_t{1} << 20;

// One reference in an expression, for static checks (validate.h).
struct ReferenceUse {
  std::string text;               // as written: "steps.fetch.data[0]"
  std::string root;               // "steps", "inputs", "loop", ... or a bare step name
  std::vector<std::string> path;  // static segments after the root, up to the first computed
                                  // one; indices in decimal
  bool guarded = false;           // under default()'s first argument or `exists`: may be absent
};

namespace detail {
struct Node;
}

// A parsed expression. Cheap to copy (the tree is shared and immutable).
class Expression {
 public:
  // Parses `text`. Errors: kInvalidInput with the column of the problem.
  [[nodiscard]] static Result<Expression> parse(std::string_view text);

  // Evaluates against `scope`. Errors as described at the top of this file.
  [[nodiscard]] Result<Value> evaluate(const Scope& scope) const;

  // Every reference, in the order written (predicate strings of any/all/count excluded: they
  // read the element, not the run).
  std::vector<ReferenceUse> references() const;

  // Checks every `matches` pattern written in the expression as a literal (as its evaluation
  // would: a bad or refused regex is kInvalidInput), so that validate reports it before a run.
  // Not part of parse(): conditions are parsed at each evaluation, and a check compiles the
  // pattern on a helper thread.
  [[nodiscard]] Status check_patterns() const;

  const std::string& text() const { return text_; }

 private:
  Expression(std::string text, std::shared_ptr<const detail::Node> root)
      : text_(std::move(text)), root_(std::move(root)) {}

  std::string text_;
  std::shared_ptr<const detail::Node> root_;
};

// Expression::parse then evaluate.
[[nodiscard]] Result<Value> evaluate_expression(std::string_view expr, const Scope& scope);

}  // namespace pl::pipeline
