// INTERNAL to the expression engine (expression_*.cpp, functions.cpp): the syntax tree and the
// hooks between parser, evaluator and the function table. Not part of the library's API.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/pipeline/expression.h"
#include "common/pipeline/scope.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::pipeline::detail {

enum class NodeKind { kLiteral, kList, kPath, kUnary, kBinary, kBetween, kCall };

// clang-format off
enum class Op {
  kNone,
  kNeg, kNot, kExists, kEmpty,                                   // unary
  kAdd, kSub, kMul, kDiv, kMod,                                  // arithmetic
  kEq, kNe, kLt, kLe, kGt, kGe,                                  // comparison
  kContains, kIn, kNotIn, kStartsWith, kEndsWith, kMatches,     // membership and text
  kAnd, kOr,                                                     // logic
};
// clang-format on

// How the operator is written, for messages: "+", "contains", "not".
std::string_view op_text(Op op);

struct Node;
using NodePtr = std::unique_ptr<Node>;

// One step of a path after its root: .name, .0, [0], ["key"] or [expr].
struct Segment {
  std::string key;               // member name; for a static index, its decimal text
  std::optional<int64_t> index;  // static index: [0] or .0 (.0 also finds the member "0")
  NodePtr computed;              // [expr] whose value decides
  std::string text;              // as written: ".data", "[0]"
};

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  Op op = Op::kNone;
  Value literal;                  // kLiteral
  std::string name;               // kPath: the root name (when there is no base); kCall: function
  std::vector<NodePtr> children;  // operands; list elements; call arguments; kPath: the base
  std::vector<Segment> segments;  // kPath
  std::string text;               // source text of this node, for messages
  NodePtr predicate;              // kCall of any/all/count whose predicate is a string literal
  int height = 1;                 // of the tree below (and including) this node
};

// Parses; `depth` is the nesting already used by an enclosing expression (predicates).
Result<NodePtr> parse_node(std::string_view text, int depth);

// The evaluation steps an evaluation has left (kMaxEvaluationSteps), shared with the predicates
// it evaluates.
struct EvaluationBudget {
  size_t steps_left = kMaxEvaluationSteps;
};

// Evaluates `node`; `depth` guards nested predicate evaluation, `budget` the work they do.
Result<Value> evaluate_node(const Node& node, const Scope& scope, int depth,
                            EvaluationBudget& budget);

// A call being made: its evaluated arguments and what a predicate needs.
struct FunctionCall {
  const Node& node;
  std::span<const Value> args;
  const Scope& scope;
  int depth;
  EvaluationBudget& budget;
};

struct FunctionSpec {
  std::string_view name;
  int min_args;
  int max_args;
  bool takes_predicate;  // the optional second argument is a predicate string
  Result<Value> (*call)(const FunctionCall& call);
};

// nullptr when there is no such function.
const FunctionSpec* find_function(std::string_view name);
std::vector<std::string_view> function_names();

// Errors shared by the evaluator and the functions.
Error type_error(std::string message);
Error not_found_error(std::string message);
// "string \"abc\"", "integer 5", "list", "map": a kind with a short excerpt of scalar values.
std::string describe(const Value& v);

// Strings raw, everything else compact JSON: how a value reads inside text.
std::string text_of(const Value& v);

// A binary operator (arithmetic, comparison or membership; not and/or) on evaluated operands.
Result<Value> apply_binary(Op op, const Value& left, const Value& right);

}  // namespace pl::pipeline::detail
