#include "common/pipeline/yaml_tree.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "common/config/yaml_quotes.h"
#include "common/config/yaml_text.h"
#include "common/json.h"

namespace pl::pipeline {
namespace {

constexpr size_t kMaxExcerpt = 40;
constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";
constexpr std::string_view kMergeKey = "<<";

bool is_decimal_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<int64_t> parse_int(std::string_view s) {
  int base = 10;
  bool negative = false;
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'o')) {
    if (s[0] == '-' || s[0] == '+') return std::nullopt;  // core schema: no sign on 0x / 0o
    base = digits[1] == 'x' ? 16 : 8;
    digits.remove_prefix(2);
  } else if (!is_decimal_digits(digits)) {
    return std::nullopt;
  }
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  if (negative) {
    if (magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) {
      return std::nullopt;
    }
    return static_cast<int64_t>(0 - magnitude);
  }
  if (magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(magnitude);
}

std::optional<double> parse_float(std::string_view s) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF") {
    return std::numeric_limits<double>::infinity();
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -std::numeric_limits<double>::infinity();
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  bool dot = false;
  if (i < s.size() && s[i] == '.') {
    dot = true;
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return std::nullopt;
  bool exponent = false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
    exponent = true;
  }
  if (i != s.size() || (!dot && !exponent)) return std::nullopt;
  std::string copy(s);
  return std::strtod(copy.c_str(), nullptr);
}

SourceLocation location(const YAML::Mark& mark, const std::string& file,
                        const SourceLocation& fallback) {
  if (mark.line < 0 || mark.column < 0) return fallback;
  return SourceLocation{file, mark.line + 1, mark.column + 1};
}

// The parser's events as a graph: an alias shares the node its anchor names. Built by
// RawBuilder, read by Converter.
struct RawNode {
  enum class Kind { kNull, kScalar, kSequence, kMap, kCycle };
  Kind kind = Kind::kNull;
  std::string tag;
  std::string value;
  YAML::Mark mark;
  std::vector<std::shared_ptr<const RawNode>> children;  // maps: key, value, key, value, ...
};

// Receives yaml-cpp's parse events for one document. (yaml-cpp's own node builder is not a
// public header, and YAML::LoadAll loops forever on some inputs, such as a lone ",".)
class RawBuilder final : public YAML::EventHandler {
 public:
  explicit RawBuilder(std::string_view text) : text_(text) {}
  std::shared_ptr<const RawNode> root() const { return root_; }
  // The first quoted scalar that never closes (see yaml_quotes.h).
  const std::optional<YAML::Mark>& unclosed_quote() const { return unclosed_quote_; }
  bool saw_document() const { return saw_document_; }
  const YAML::Mark& document_mark() const { return document_mark_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    saw_document_ = true;
    document_mark_ = mark;
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto node = std::make_shared<RawNode>();
    node->mark = mark;
    add(node, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end() || open_.count(it->second.get())) {
      // An alias inside the node it names would make a loop: keep a marker instead.
      auto cycle = std::make_shared<RawNode>();
      cycle->kind = RawNode::Kind::kCycle;
      cycle->mark = mark;
      add(cycle, 0);
      return;
    }
    add(it->second, 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    auto node = std::make_shared<RawNode>();
    node->kind = RawNode::Kind::kScalar;
    node->mark = mark;
    node->tag = tag;
    node->value = value;
    if (tag == "!" && !unclosed_quote_ &&
        !yaml_quote_closes(text_, static_cast<size_t>(mark.pos))) {
      unclosed_quote_ = mark;
    }
    add(node, anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(RawNode::Kind::kSequence, mark, tag, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(RawNode::Kind::kMap, mark, tag, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  void add(const std::shared_ptr<RawNode>& node, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = node;
    if (stack_.empty()) {
      if (!root_) root_ = node;
    } else {
      stack_.back()->children.push_back(node);
    }
  }
  void open(RawNode::Kind kind, const YAML::Mark& mark, const std::string& tag,
            YAML::anchor_t anchor) {
    auto node = std::make_shared<RawNode>();
    node->kind = kind;
    node->mark = mark;
    node->tag = tag;
    add(node, anchor);
    stack_.push_back(node);
    open_.insert(node.get());
  }
  void close() {
    if (stack_.empty()) return;
    open_.erase(stack_.back().get());
    stack_.pop_back();
  }

  std::string_view text_;
  std::optional<YAML::Mark> unclosed_quote_;
  std::shared_ptr<const RawNode> root_;
  std::vector<std::shared_ptr<RawNode>> stack_;
  std::set<const RawNode*> open_;
  std::map<YAML::anchor_t, std::shared_ptr<RawNode>> anchors_;
  bool saw_document_ = false;
  YAML::Mark document_mark_;
};

// Converts the event graph (which may share nodes through aliases) into a tree, within the
// depth and node budgets.
class Converter {
 public:
  Converter(const std::string& file, std::vector<Diagnostic>& diagnostics)
      : file_(file), diagnostics_(diagnostics) {}

  // False when a limit stopped the conversion (the partial tree must not be used).
  bool convert(const RawNode& in, YamlNode& out, int depth, const SourceLocation& fallback) {
    if (stopped_) return false;
    out.where = location(in.mark, file_, fallback);
    if (depth > kMaxYamlDepth) {
      return stop(out.where,
                  "YAML nesting is deeper than " + std::to_string(kMaxYamlDepth) + " levels");
    }
    if (++nodes_ > kMaxYamlNodes) {
      return stop(out.where, "the document expands to more than " + std::to_string(kMaxYamlNodes) +
                                 " nodes (an alias bomb?)");
    }
    switch (in.kind) {
      case RawNode::Kind::kCycle:
        return stop(out.where, "an alias refers to the node that contains it");
      case RawNode::Kind::kNull:
        out.kind = YamlNode::Kind::kNull;
        return true;
      case RawNode::Kind::kScalar: {
        out.kind = YamlNode::Kind::kScalar;
        out.scalar = in.value;
        const std::string& tag = in.tag;
        out.quoted = tag == "!" || tag == kStrTag;
        if (!tag.empty() && tag != "?" && tag != "!" && tag.rfind("tag:yaml.org,2002:", 0) != 0) {
          warn(out.where, "YAML tag \"" + tag + "\" is ignored");
        }
        return true;
      }
      case RawNode::Kind::kSequence:
        out.kind = YamlNode::Kind::kSequence;
        out.items.reserve(in.children.size());
        for (const auto& element : in.children) {
          out.items.emplace_back();
          if (!convert(*element, out.items.back(), depth + 1, out.where)) return false;
        }
        return true;
      case RawNode::Kind::kMap:
        out.kind = YamlNode::Kind::kMap;
        return convert_map(in, out, depth);
    }
    return true;
  }

 private:
  bool convert_map(const RawNode& in, YamlNode& out, int depth) {
    std::vector<YamlMember> merged;  // from "<<: *alias", added after the explicit keys
    for (size_t i = 0; i + 1 < in.children.size(); i += 2) {
      const RawNode& key = *in.children[i];
      const RawNode& value = *in.children[i + 1];
      SourceLocation key_where = location(key.mark, file_, out.where);
      if (key.kind != RawNode::Kind::kScalar) {
        error(key_where, "map keys must be plain names, got a " +
                             std::string(key.kind == RawNode::Kind::kMap        ? "map"
                                         : key.kind == RawNode::Kind::kSequence ? "list"
                                                                                : "null") +
                             " (write templates in quotes: \"{{ ... }}\")");
        continue;
      }
      YamlMember member{key.value, key_where, YamlNode()};
      if (!convert(value, member.value, depth + 1, key_where)) return false;
      if (member.value.is_null()) member.value.where = key_where;
      if (member.key == kMergeKey && key.tag == "?") {
        if (!merge(member.value, merged)) {
          error(key_where, "\"<<\" merges a map or a list of maps, got " +
                               std::string(member.value.kind_word()));
        }
        continue;
      }
      if (const YamlMember* first = out.member(member.key)) {
        error(key_where, "duplicate key \"" + member.key + "\" (first at " +
                             to_string(first->key_where) + ")");
        continue;
      }
      out.members.push_back(std::move(member));
    }
    for (auto& member : merged) {
      if (!out.member(member.key)) out.members.push_back(std::move(member));
    }
    return true;
  }

  static bool merge(const YamlNode& source, std::vector<YamlMember>& into) {
    auto add = [&](const YamlNode& map) {
      for (const auto& m : map.members) {
        bool present = false;
        for (const auto& existing : into) present = present || existing.key == m.key;
        if (!present) into.push_back(m);
      }
    };
    if (source.is_map()) {
      add(source);
      return true;
    }
    if (!source.is_sequence()) return false;
    for (const auto& element : source.items) {
      if (!element.is_map()) return false;
    }
    for (const auto& element : source.items) add(element);
    return true;
  }

  bool stop(const SourceLocation& where, std::string message) {
    stopped_ = true;
    error(where, std::move(message));
    return false;
  }
  void error(const SourceLocation& where, std::string message) {
    diagnostics_.push_back(Diagnostic{Severity::kError, where, std::move(message)});
  }
  void warn(const SourceLocation& where, std::string message) {
    diagnostics_.push_back(Diagnostic{Severity::kWarning, where, std::move(message)});
  }

  const std::string& file_;
  std::vector<Diagnostic>& diagnostics_;
  size_t nodes_ = 0;
  bool stopped_ = false;
};

}  // namespace

const YamlMember* YamlNode::member(std::string_view key) const {
  for (const auto& m : members) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

const YamlNode* YamlNode::find(std::string_view key) const {
  const YamlMember* m = member(key);
  return m ? &m->value : nullptr;
}

Value YamlNode::scalar_value() const {
  if (kind == Kind::kNull) return Value();
  if (kind != Kind::kScalar) return Value();
  if (quoted) return Value(scalar);
  const std::string& s = scalar;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Value();
  if (s == "true" || s == "True" || s == "TRUE") return Value(true);
  if (s == "false" || s == "False" || s == "FALSE") return Value(false);
  if (auto i = parse_int(s)) return Value(*i);
  if (auto d = parse_float(s)) return Value(*d);
  return Value(s);
}

Value YamlNode::to_value() const {
  switch (kind) {
    case Kind::kNull:
    case Kind::kScalar:
      return scalar_value();
    case Kind::kSequence: {
      Value::Array out;
      out.reserve(items.size());
      for (const auto& item : items) out.push_back(item.to_value());
      return Value(std::move(out));
    }
    case Kind::kMap: {
      Value::Object out;
      for (const auto& m : members) out.emplace(m.key, m.value.to_value());
      return Value(std::move(out));
    }
  }
  return Value();
}

std::string_view YamlNode::kind_word() const {
  switch (kind) {
    case Kind::kSequence:
      return "list";
    case Kind::kMap:
      return "map";
    default:
      return kind_name(scalar_value().kind());
  }
}

std::string YamlNode::describe() const {
  if (kind != Kind::kScalar) return std::string(kind_word());
  Value v = scalar_value();
  if (v.is_string()) {
    std::string text =
        scalar.size() <= kMaxExcerpt ? scalar : scalar.substr(0, kMaxExcerpt) + "...";
    return "string \"" + text + "\"";
  }
  return std::string(kind_word()) + " " + scalar;
}

YamlDocument parse_yaml(std::string_view text, const std::string& file) {
  YamlDocument doc;
  const SourceLocation whole_file{file, 0, 0};
  auto error = [&](SourceLocation where, std::string message) {
    doc.diagnostics.push_back(Diagnostic{Severity::kError, std::move(where), std::move(message)});
  };
  if (text.size() > kMaxYamlBytes) {
    error(whole_file, "the file is " + std::to_string(text.size()) + " bytes, over the limit of " +
                          std::to_string(kMaxYamlBytes));
    return doc;
  }
  if (auto fault = yaml_text_fault(text)) {
    error(SourceLocation{file, fault->line, fault->column}, std::move(fault->message));
    return doc;
  }
  RawBuilder first(text);
  try {
    std::istringstream input{std::string(text)};
    YAML::Parser parser(input);
    if (!parser.HandleNextDocument(first) || !first.saw_document()) {
      error(whole_file, "the file is empty");
      return doc;
    }
    // One more document is enough to know there are several; never loop (see RawBuilder).
    RawBuilder second(text);
    if (parser.HandleNextDocument(second) && second.saw_document()) {
      // A parser that starts a third document where the second began is stuck on a token
      // it cannot use (yaml-cpp, on a stray "," at block level).
      RawBuilder third(text);
      const bool stuck = parser.HandleNextDocument(third) && third.saw_document() &&
                         third.document_mark().pos == second.document_mark().pos;
      error(location(second.document_mark(), file, whole_file),
            stuck ? "YAML syntax error: unexpected text the parser cannot read"
                  : "a pipeline file holds one YAML document; this one has more");
    }
  } catch (const YAML::DeepRecursion& e) {
    error(location(e.mark, file, whole_file), "YAML nesting is too deep (the parser stopped at " +
                                                  std::to_string(e.depth()) + " levels)");
    return doc;
  } catch (const YAML::Exception& e) {
    error(location(e.mark, file, whole_file),
          "YAML syntax error: " + e.msg + tab_indentation_hint(text, e.mark.line + 1));
    return doc;
  } catch (const std::exception& e) {
    error(whole_file, std::string("could not parse YAML: ") + e.what());
    return doc;
  }
  if (!first.root()) {
    error(whole_file, "the file is empty");
    return doc;
  }
  if (const auto& unclosed = first.unclosed_quote()) {
    error(location(*unclosed, file, whole_file), std::string(kYamlUnclosedQuote));
    return doc;
  }
  try {
    YamlNode root;
    Converter converter(file, doc.diagnostics);
    if (converter.convert(*first.root(), root, 0, SourceLocation{file, 1, 1})) {
      doc.root = std::move(root);
    }
  } catch (const std::exception& e) {
    error(whole_file, std::string("could not read YAML: ") + e.what());
  }
  return doc;
}

}  // namespace pl::pipeline
