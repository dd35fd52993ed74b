// Tokenizer and recursive-descent parser of the expression language (grammar in expression.h).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "common/pipeline/diagnostic.h"
#include "common/pipeline/expression.h"
#include "common/pipeline/expression_ast.h"
#include "common/pipeline/suggest.h"

namespace pl::pipeline::detail {
namespace {

enum class TokenKind { kInt, kDouble, kString, kIdent, kSymbol, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // identifier, symbol, or the string literal's decoded value
  int64_t int_value = 0;
  double double_value = 0;
  size_t begin = 0;  // offset in the expression
  size_t end = 0;
};

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> run() {
    std::vector<Token> tokens;
    while (true) {
      size_t before_space = pos_;
      skip_space();
      bool after_dot = !tokens.empty() && tokens.back().kind == TokenKind::kSymbol &&
                       tokens.back().text == "." && before_space == pos_;
      if (pos_ >= text_.size()) {
        tokens.push_back(Token{TokenKind::kEnd, "", 0, 0, pos_, pos_});
        return tokens;
      }
      auto token = next(after_dot);
      if (!token.ok()) return std::move(token).error();
      tokens.push_back(std::move(*token));
    }
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  Error error_at(size_t offset, const std::string& what) const {
    return make_error(ErrorCode::kInvalidInput, "bad expression \"" + std::string(text_) +
                                                    "\": " + what + " at column " +
                                                    std::to_string(offset + 1));
  }

  Result<Token> next(bool after_dot) {
    const size_t begin = pos_;
    const char c = text_[pos_];
    if (is_digit(c)) return number(begin, after_dot);
    if (is_ident_start(c)) {
      while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
      return Token{
          TokenKind::kIdent, std::string(text_.substr(begin, pos_ - begin)), 0, 0, begin, pos_};
    }
    if (c == '"' || c == '\'') return string_literal(begin);
    static constexpr std::string_view kTwoChar[] = {"==", "!=", "<=", ">="};
    for (std::string_view symbol : kTwoChar) {
      if (text_.substr(pos_, 2) == symbol) {
        pos_ += 2;
        return Token{TokenKind::kSymbol, std::string(symbol), 0, 0, begin, pos_};
      }
    }
    static constexpr std::string_view kOneChar = "()[],.+-*/%<>";
    if (kOneChar.find(c) != std::string_view::npos) {
      ++pos_;
      return Token{TokenKind::kSymbol, std::string(1, c), 0, 0, begin, pos_};
    }
    if (c == '=') return error_at(begin, "\"=\" is not an operator (use \"==\" to compare)");
    if (c == '!') return error_at(begin, "\"!\" is not an operator (use \"not\" or \"!=\")");
    if (c == '&' || c == '|') return error_at(begin, "use \"and\" / \"or\" instead of symbols");
    if (c == '{' || c == '}') return error_at(begin, "unexpected \"" + std::string(1, c) + "\"");
    if (c == ':') {
      return error_at(begin,
                      "unexpected \":\" (pipeline_ex's previous_response:NAME is written "
                      "steps.NAME here)");
    }
    return error_at(begin, "unexpected character \"" + std::string(1, c) + "\"");
  }

  // After a ".", digits are a list index (".0"), never a decimal fraction.
  Result<Token> number(size_t begin, bool index_only) {
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    bool is_double = false;
    if (!index_only && pos_ + 1 < text_.size() && text_[pos_] == '.' && is_digit(text_[pos_ + 1])) {
      is_double = true;
      ++pos_;
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    }
    if (!index_only && pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (p < text_.size() && is_digit(text_[p])) {
        is_double = true;
        pos_ = p;
        while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
      }
    }
    if (pos_ < text_.size() && is_ident_start(text_[pos_])) {
      return error_at(begin, "a name cannot start with a digit");
    }
    std::string_view digits = text_.substr(begin, pos_ - begin);
    Token token{
        is_double ? TokenKind::kDouble : TokenKind::kInt, std::string(digits), 0, 0, begin, pos_};
    if (is_double) {
      token.double_value = std::strtod(token.text.c_str(), nullptr);
      if (!std::isfinite(token.double_value)) return error_at(begin, "number out of range");
    } else {
      auto [ptr, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), token.int_value);
      if (ec != std::errc()) return error_at(begin, "integer literal out of range");
    }
    return token;
  }

  Result<Token> string_literal(size_t begin) {
    const char quote = text_[pos_++];
    std::string value;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      char c = text_[pos_++];
      if (c != '\\' || pos_ >= text_.size()) {
        value += c;
        continue;
      }
      char e = text_[pos_++];
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case '\\':
          value += '\\';
          break;
        case '\'':
          value += '\'';
          break;
        case '"':
          value += '"';
          break;
        default:  // kept as written, for regex patterns such as '\d+\.py'
          value += '\\';
          value += e;
      }
    }
    if (pos_ >= text_.size()) return error_at(begin, "unterminated string");
    ++pos_;
    return Token{TokenKind::kString, std::move(value), 0, 0, begin, pos_};
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool is_keyword(std::string_view word) {
  static constexpr std::string_view kKeywords[] = {"and",   "or",   "not",    "true",
                                                   "false", "null", "between"};
  for (auto k : kKeywords) {
    if (k == word) return true;
  }
  return false;
}

struct WordOp {
  std::string_view word;
  Op op;
};
constexpr WordOp kComparisonWords[] = {
    {"contains", Op::kContains},  {"in", Op::kIn},
    {"not_in", Op::kNotIn},       {"starts_with", Op::kStartsWith},
    {"ends_with", Op::kEndsWith}, {"matches", Op::kMatches},
};
struct SymbolOp {
  std::string_view symbol;
  Op op;
};
constexpr SymbolOp kComparisonSymbols[] = {
    {"==", Op::kEq}, {"!=", Op::kNe}, {"<", Op::kLt},
    {"<=", Op::kLe}, {">", Op::kGt},  {">=", Op::kGe},
};

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens, int depth)
      : text_(text), tokens_(std::move(tokens)), depth_(depth) {}

  Result<NodePtr> parse_all() {
    auto node = expression();
    if (!node.ok()) return node;
    if (peek().kind != TokenKind::kEnd) return unexpected("an operator or the end");
    return node;
  }

 private:
  // ---- token helpers ----
  const Token& peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& advance() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool at_symbol(std::string_view s, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kSymbol && peek(ahead).text == s;
  }
  bool at_word(std::string_view w) const {
    return peek().kind == TokenKind::kIdent && peek().text == w;
  }
  Error error_at(size_t offset, const std::string& what) const {
    return make_error(ErrorCode::kInvalidInput, "bad expression \"" + std::string(text_) +
                                                    "\": " + what + " at column " +
                                                    std::to_string(offset + 1));
  }
  Error unexpected(const std::string& expected) const {
    const Token& t = peek();
    std::string found = t.kind == TokenKind::kEnd ? "the end" : quote(source(t.begin, t.end));
    return error_at(t.begin, "expected " + expected + ", found " + found);
  }
  std::string source(size_t begin, size_t end) const {
    return std::string(text_.substr(begin, end - begin));
  }
  size_t previous_end() const { return pos_ == 0 ? 0 : tokens_[pos_ - 1].end; }

  NodePtr make(NodeKind kind, size_t begin) {
    auto node = std::make_unique<Node>();
    node->kind = kind;
    node->text = source(begin, previous_end());
    return node;
  }

  // Guards recursion: every rule that can nest calls this.
  struct DepthGuard {
    explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
    ~DepthGuard() { --depth_; }
    int& depth_;
  };
  bool too_deep() const { return depth_ > kMaxDepth; }
  static constexpr int kMaxDepth = kMaxExpressionDepth;
  // Chains such as 1+1+1+... build a tree as tall as they are long; evaluation recurses on it.
  static constexpr int kMaxHeight = 256;

  // ---- grammar ----
  Result<NodePtr> expression() {
    DepthGuard guard(depth_);
    if (too_deep()) {
      return error_at(peek().begin,
                      "expression nests deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    return logical(0);
  }

  // level 0: or, level 1: and
  Result<NodePtr> logical(int level) {
    const size_t begin = peek().begin;
    auto left = level == 0 ? logical(1) : negation();
    if (!left.ok()) return left;
    const std::string_view word = level == 0 ? "or" : "and";
    const Op op = level == 0 ? Op::kOr : Op::kAnd;
    NodePtr node = std::move(*left);
    while (at_word(word)) {
      advance();
      auto right = level == 0 ? logical(1) : negation();
      if (!right.ok()) return right;
      auto made = binary(op, std::move(node), std::move(*right), begin);
      if (!made.ok()) return made;
      node = std::move(*made);
    }
    return node;
  }

  Result<NodePtr> negation() {
    if (!at_word("not")) return comparison();
    DepthGuard guard(depth_);
    if (too_deep()) return error_at(peek().begin, "expression nests too deeply");
    const size_t begin = advance().begin;
    auto operand = negation();
    if (!operand.ok()) return operand;
    return unary(Op::kNot, std::move(*operand), begin);
  }

  Result<NodePtr> comparison() {
    const size_t begin = peek().begin;
    auto left = additive();
    if (!left.ok()) return left;
    NodePtr node = std::move(*left);
    if (at_word("exists") || at_word("empty")) {
      Op op = peek().text == "exists" ? Op::kExists : Op::kEmpty;
      advance();
      auto made = unary(op, std::move(node), begin);
      if (!made.ok()) return made;
      node = std::move(*made);
    } else if (at_word("between")) {
      advance();
      auto low = additive();
      if (!low.ok()) return low;
      if (!at_word("and")) return unexpected("\"and\" after \"between A\"");
      advance();
      auto high = additive();
      if (!high.ok()) return high;
      auto between = std::make_unique<Node>();
      between->kind = NodeKind::kBetween;
      between->children.push_back(std::move(node));
      between->children.push_back(std::move(*low));
      between->children.push_back(std::move(*high));
      between->text = source(begin, previous_end());
      auto made = finish(std::move(between), begin);
      if (!made.ok()) return made;
      node = std::move(*made);
    } else if (auto op = comparison_op()) {
      advance();
      auto right = additive();
      if (!right.ok()) return right;
      auto made = binary(*op, std::move(node), std::move(*right), begin);
      if (!made.ok()) return made;
      node = std::move(*made);
    } else {
      return node;
    }
    if (comparison_op() || at_word("between") || at_word("exists") || at_word("empty")) {
      return error_at(peek().begin, "comparisons cannot be chained (use \"and\")");
    }
    return node;
  }

  std::optional<Op> comparison_op() const {
    const Token& t = peek();
    if (t.kind == TokenKind::kSymbol) {
      for (const auto& s : kComparisonSymbols) {
        if (s.symbol == t.text) return s.op;
      }
    } else if (t.kind == TokenKind::kIdent) {
      for (const auto& w : kComparisonWords) {
        if (w.word == t.text) return w.op;
      }
    }
    return std::nullopt;
  }

  Result<NodePtr> additive() {
    const size_t begin = peek().begin;
    auto left = multiplicative();
    if (!left.ok()) return left;
    NodePtr node = std::move(*left);
    while (at_symbol("+") || at_symbol("-")) {
      Op op = advance().text == "+" ? Op::kAdd : Op::kSub;
      auto right = multiplicative();
      if (!right.ok()) return right;
      auto made = binary(op, std::move(node), std::move(*right), begin);
      if (!made.ok()) return made;
      node = std::move(*made);
    }
    return node;
  }

  Result<NodePtr> multiplicative() {
    const size_t begin = peek().begin;
    auto left = sign();
    if (!left.ok()) return left;
    NodePtr node = std::move(*left);
    while (at_symbol("*") || at_symbol("/") || at_symbol("%")) {
      const std::string& s = advance().text;
      Op op = s == "*" ? Op::kMul : s == "/" ? Op::kDiv : Op::kMod;
      auto right = sign();
      if (!right.ok()) return right;
      auto made = binary(op, std::move(node), std::move(*right), begin);
      if (!made.ok()) return made;
      node = std::move(*made);
    }
    return node;
  }

  Result<NodePtr> sign() {
    if (!at_symbol("-")) return postfix();
    DepthGuard guard(depth_);
    if (too_deep()) return error_at(peek().begin, "expression nests too deeply");
    const size_t begin = advance().begin;
    // A negated integer literal is folded into a literal.
    if (peek().kind == TokenKind::kInt && !at_symbol(".", 1) && !at_symbol("[", 1)) {
      const Token& t = advance();
      auto node = make(NodeKind::kLiteral, begin);
      node->literal = t.int_value == 0 ? Value(int64_t{0}) : Value(-t.int_value);
      return node;
    }
    auto operand = sign();
    if (!operand.ok()) return operand;
    return unary(Op::kNeg, std::move(*operand), begin);
  }

  Result<NodePtr> postfix() {
    const size_t begin = peek().begin;
    auto primary_node = primary();
    if (!primary_node.ok()) return primary_node;
    NodePtr node = std::move(*primary_node);
    while (at_symbol(".") || at_symbol("[")) {
      if (node->kind != NodeKind::kPath) {
        auto path = std::make_unique<Node>();
        path->kind = NodeKind::kPath;
        path->children.push_back(std::move(node));
        node = std::move(path);
      }
      auto segment = this->segment();
      if (!segment.ok()) return std::move(segment).error();
      node->segments.push_back(std::move(*segment));
      node->text = source(begin, previous_end());
    }
    if (node->kind == NodeKind::kPath) return finish(std::move(node), begin);
    return node;
  }

  Result<Segment> segment() {
    const size_t begin = peek().begin;
    Segment seg;
    if (at_symbol(".")) {
      advance();
      const Token& t = peek();
      if (t.kind == TokenKind::kIdent) {
        seg.key = t.text;
      } else if (t.kind == TokenKind::kInt && t.begin == begin + 1) {
        seg.key = t.text;
        seg.index = t.int_value;
      } else {
        return unexpected("a name or an index after \".\"");
      }
      advance();
      seg.text = source(begin, previous_end());
      return seg;
    }
    advance();  // "["
    auto inner = expression();
    if (!inner.ok()) return std::move(inner).error();
    if (!at_symbol("]")) return unexpected("\"]\"");
    advance();
    seg.text = source(begin, previous_end());
    NodePtr index = std::move(*inner);
    if (index->kind == NodeKind::kLiteral && index->literal.is_int()) {
      seg.index = index->literal.as_int();
      seg.key = std::to_string(*seg.index);
    } else if (index->kind == NodeKind::kLiteral && index->literal.is_string()) {
      seg.key = index->literal.as_string();
    } else if (index->kind == NodeKind::kLiteral) {
      return error_at(begin,
                      "an index must be an integer or a string, not " + describe(index->literal));
    } else {
      seg.computed = std::move(index);
    }
    return seg;
  }

  Result<NodePtr> primary() {
    const Token& t = peek();
    const size_t begin = t.begin;
    switch (t.kind) {
      case TokenKind::kInt: {
        Value v(t.int_value);
        advance();
        return literal(std::move(v), begin);
      }
      case TokenKind::kDouble: {
        Value v(t.double_value);
        advance();
        return literal(std::move(v), begin);
      }
      case TokenKind::kString: {
        Value v(t.text);
        advance();
        return literal(std::move(v), begin);
      }
      case TokenKind::kIdent:
        return identifier();
      case TokenKind::kSymbol:
        if (t.text == "(") {
          advance();
          auto inner = expression();
          if (!inner.ok()) return inner;
          if (!at_symbol(")")) return unexpected("\")\"");
          advance();
          return inner;
        }
        if (t.text == "[") return list();
        return unexpected("a value");
      case TokenKind::kEnd:
        return unexpected("a value");
    }
    return unexpected("a value");
  }

  Result<NodePtr> literal(Value v, size_t begin) {
    auto node = make(NodeKind::kLiteral, begin);
    node->literal = std::move(v);
    return node;
  }

  Result<NodePtr> identifier() {
    const Token& t = advance();
    const size_t begin = t.begin;
    const std::string word = t.text;
    if (word == "true") return literal(Value(true), begin);
    if (word == "false") return literal(Value(false), begin);
    if (word == "null") return literal(Value(), begin);
    if (is_keyword(word)) return error_at(begin, "expected a value, found \"" + word + "\"");
    if (at_symbol("(")) return call(word, begin);
    auto node = make(NodeKind::kPath, begin);
    node->name = word;
    return node;
  }

  Result<NodePtr> list() {
    const size_t begin = advance().begin;  // "["
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kList;
    if (!at_symbol("]")) {
      while (true) {
        auto element = expression();
        if (!element.ok()) return element;
        node->children.push_back(std::move(*element));
        if (at_symbol(",")) {
          advance();
          continue;
        }
        if (at_symbol("]")) break;
        return unexpected("\",\" or \"]\"");
      }
    }
    advance();
    node->text = source(begin, previous_end());
    return finish(std::move(node), begin);
  }

  Result<NodePtr> call(const std::string& name, size_t begin) {
    const FunctionSpec* spec = find_function(name);
    if (!spec) {
      auto names = function_names();
      return error_at(begin, "unknown function \"" + name + "\"" + did_you_mean(name, names));
    }
    advance();  // "("
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kCall;
    node->name = name;
    if (!at_symbol(")")) {
      while (true) {
        auto arg = expression();
        if (!arg.ok()) return arg;
        node->children.push_back(std::move(*arg));
        if (at_symbol(",")) {
          advance();
          continue;
        }
        if (at_symbol(")")) break;
        return unexpected("\",\" or \")\"");
      }
    }
    advance();
    node->text = source(begin, previous_end());
    const int count = static_cast<int>(node->children.size());
    if (count < spec->min_args || count > spec->max_args) {
      std::string expected =
          spec->min_args == spec->max_args
              ? std::to_string(spec->min_args)
              : std::to_string(spec->min_args) + " to " + std::to_string(spec->max_args);
      return error_at(begin, "function \"" + name + "\" takes " + expected + " argument" +
                                 (spec->max_args == 1 ? "" : "s") + ", got " +
                                 std::to_string(count));
    }
    if (spec->takes_predicate && count == 2 && node->children[1]->kind == NodeKind::kLiteral &&
        node->children[1]->literal.is_string()) {
      auto predicate = parse_node(node->children[1]->literal.as_string(), depth_);
      if (!predicate.ok()) {
        return make_error(ErrorCode::kInvalidInput,
                          "in the predicate of " + name + "(): " + predicate.error().message);
      }
      node->predicate = std::move(*predicate);
    }
    return finish(std::move(node), begin);
  }

  Result<NodePtr> unary(Op op, NodePtr operand, size_t begin) {
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kUnary;
    node->op = op;
    node->children.push_back(std::move(operand));
    node->text = source(begin, previous_end());
    return finish(std::move(node), begin);
  }

  Result<NodePtr> binary(Op op, NodePtr left, NodePtr right, size_t begin) {
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kBinary;
    node->op = op;
    node->children.push_back(std::move(left));
    node->children.push_back(std::move(right));
    node->text = source(begin, previous_end());
    return finish(std::move(node), begin);
  }

  // Computes the node's height and refuses trees too tall to evaluate safely.
  Result<NodePtr> finish(NodePtr node, size_t begin) {
    int height = 0;
    for (const auto& child : node->children) height = std::max(height, child->height);
    for (const auto& segment : node->segments) {
      if (segment.computed) height = std::max(height, segment.computed->height);
    }
    if (node->predicate) height = std::max(height, node->predicate->height);
    node->height = height + 1;
    if (node->height > kMaxHeight) {
      return error_at(begin,
                      "expression nests deeper than " + std::to_string(kMaxHeight) + " operations");
    }
    return node;
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_;
};

}  // namespace

std::string_view op_text(Op op) {
  switch (op) {
    case Op::kNone:
      return "?";
    case Op::kNeg:
      return "-";
    case Op::kNot:
      return "not";
    case Op::kExists:
      return "exists";
    case Op::kEmpty:
      return "empty";
    case Op::kAdd:
      return "+";
    case Op::kSub:
      return "-";
    case Op::kMul:
      return "*";
    case Op::kDiv:
      return "/";
    case Op::kMod:
      return "%";
    case Op::kEq:
      return "==";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kContains:
      return "contains";
    case Op::kIn:
      return "in";
    case Op::kNotIn:
      return "not_in";
    case Op::kStartsWith:
      return "starts_with";
    case Op::kEndsWith:
      return "ends_with";
    case Op::kMatches:
      return "matches";
    case Op::kAnd:
      return "and";
    case Op::kOr:
      return "or";
  }
  return "?";
}

Result<NodePtr> parse_node(std::string_view text, int depth) {
  if (text.size() > kMaxExpressionLength) {
    return make_error(ErrorCode::kInvalidInput, "expression is " + std::to_string(text.size()) +
                                                    " characters long, over the limit of " +
                                                    std::to_string(kMaxExpressionLength));
  }
  auto tokens = Tokenizer(text).run();
  if (!tokens.ok()) return std::move(tokens).error();
  if (tokens->size() == 1) {
    return make_error(ErrorCode::kInvalidInput, "empty expression");
  }
  return Parser(text, std::move(*tokens), depth).parse_all();
}

}  // namespace pl::pipeline::detail
