#include "common/json.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "common/utf8.h"

namespace pl {
namespace {

void append_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // A run of characters that need no escape goes in at once: most text is one such run, and
    // a character at a time was most of the cost of writing a session turn.
    size_t plain = i;
    while (plain < s.size()) {
      const auto c = static_cast<unsigned char>(s[plain]);
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
      ++plain;
    }
    if (plain > i) {
      out.append(s.data() + i, plain - i);
      i = plain;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:  // another control character (plain ones went in with their run)
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
      }
      ++i;
      continue;
    }
    // Multi-byte UTF-8: copy a well-formed sequence, replace anything else with U+FFFD.
    const size_t len = utf8_sequence_length(s, i);
    if (len != 0) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  out.push_back('"');
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view text(buf, end - buf);
  out += text;
  // Keep a double recognisable as one after a round trip: 3.0 prints as 3.0, not 3.
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void newline(std::string& out, JsonStyle style, int depth) {
  if (style == JsonStyle::kCompact) return;
  out.push_back('\n');
  out.append(static_cast<size_t>(depth) * 2, ' ');
}

void append_value(std::string& out, const Value& v, JsonStyle style, int depth) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::kInt: {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.as_int());
      out.append(buf, end);
      return;
    }
    case Value::Kind::kDouble:
      append_double(out, v.as_double());
      return;
    case Value::Kind::kString:
      append_escaped(out, v.as_string());
      return;
    case Value::Kind::kArray: {
      const auto& array = v.as_array();
      if (array.empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      bool first = true;
      for (const auto& element : array) {
        if (!first) out.push_back(',');
        first = false;
        newline(out, style, depth + 1);
        append_value(out, element, style, depth + 1);
      }
      newline(out, style, depth);
      out.push_back(']');
      return;
    }
    case Value::Kind::kObject: {
      const auto& object = v.as_object();
      if (object.empty()) {
        out += "{}";
        return;
      }
      out.push_back('{');
      bool first = true;
      for (const auto& [key, member] : object) {
        if (!first) out.push_back(',');
        first = false;
        newline(out, style, depth + 1);
        append_escaped(out, key);
        out += style == JsonStyle::kPretty ? ": " : ":";
        append_value(out, member, style, depth + 1);
      }
      newline(out, style, depth);
      out.push_back('}');
      return;
    }
  }
}

// Builds a Value straight from nlohmann's SAX events, with a depth limit.
class ValueBuilder {
 public:
  using json = nlohmann::json;
  explicit ValueBuilder(size_t max_depth) : max_depth_(max_depth) {}

  bool null() { return add(Value()); }
  bool boolean(bool b) { return add(Value(b)); }
  bool number_integer(json::number_integer_t i) { return add(Value(static_cast<int64_t>(i))); }
  bool number_unsigned(json::number_unsigned_t u) {
    if (u <= static_cast<uint64_t>(INT64_MAX)) return add(Value(static_cast<int64_t>(u)));
    return add(Value(static_cast<double>(u)));
  }
  bool number_float(json::number_float_t d, const json::string_t&) { return add(Value(d)); }
  bool string(json::string_t& s) { return add(Value(std::move(s))); }
  bool binary(json::binary_t&) {
    error_ = "binary values are not JSON";
    return false;
  }
  bool start_object(size_t) { return open(Value::object()); }
  bool key(json::string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(size_t) { return open(Value::array()); }
  bool end_array() { return close(); }
  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    offset_ = position == 0 ? 0 : position - 1;
    error_ = ex.what();
    return false;
  }

  Value take() { return std::move(root_); }
  const std::string& error() const { return error_; }
  // Byte offset of a syntax error; nullopt for the errors found between nlohmann's events
  // (depth, duplicate keys), whose place it does not tell.
  std::optional<size_t> offset() const { return offset_; }

 private:
  bool add(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Value& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(v));
      return true;
    }
    return insert_member(top, std::move(v)) != nullptr;
  }
  // The member `key_` of `object`, new; nullptr and an error when the object has it already:
  // which of the two a reader keeps differs from one reader to the next (RFC 8259 §4).
  Value* insert_member(Value& object, Value v) {
    auto [it, inserted] = object.as_object().try_emplace(key_, std::move(v));
    if (!inserted) {
      error_ = "duplicate key \"" + key_ + "\"";
      return nullptr;
    }
    return &it->second;
  }
  bool open(Value container) {
    if (stack_.size() >= max_depth_) {
      error_ = "nesting deeper than " + std::to_string(max_depth_) + " levels";
      return false;
    }
    Value* slot;
    if (stack_.empty()) {
      root_ = std::move(container);
      slot = &root_;
    } else if (stack_.back()->is_array()) {
      stack_.back()->push_back(std::move(container));
      slot = &stack_.back()->as_array().back();
    } else {
      slot = insert_member(*stack_.back(), std::move(container));
      if (!slot) return false;
    }
    stack_.push_back(slot);
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  size_t max_depth_;
  Value root_;
  std::vector<Value*> stack_;
  std::string key_;
  std::string error_;
  std::optional<size_t> offset_;
};

// nlohmann reports a byte offset; people want line and column.
std::string position_of(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

void append_json(std::string& out, const Value& v, JsonStyle style) {
  append_value(out, v, style, 0);
}

void append_pretty_json_at(std::string& out, const Value& v, int depth) {
  append_value(out, v, JsonStyle::kPretty, depth);
}

std::string to_json(const Value& v, JsonStyle style) {
  std::string out;
  append_value(out, v, style, 0);
  return out;
}

namespace {

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// `text` when it is one plain scalar: an integer of at most 18 digits, a string of printable
// ASCII with no escape, true, false or null, with JSON whitespace around it. The lines of an
// items file are mostly such scalars, and the general parser's set-up costs several times the
// work of reading them. Anything else (nullopt) goes to the general parser, which reads these
// the same way.
std::optional<Value> plain_scalar(std::string_view text) {
  while (!text.empty() && json_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && json_space(text.back())) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  if (text == "true") return Value(true);
  if (text == "false") return Value(false);
  if (text == "null") return Value();
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    const std::string_view inner = text.substr(1, text.size() - 2);
    for (const char c : inner) {
      if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return std::nullopt;
    }
    return Value(std::string(inner));
  }
  const bool negative = text.front() == '-';
  const std::string_view digits = text.substr(negative ? 1 : 0);
  // No leading zero (JSON has none), and few enough digits that no int64 overflows.
  if (digits.empty() || digits.size() > 18 || (digits.front() == '0' && digits.size() > 1)) {
    return std::nullopt;
  }
  int64_t magnitude = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    magnitude = magnitude * 10 + (c - '0');
  }
  return Value(negative ? -magnitude : magnitude);
}

}  // namespace

Result<Value> parse_json(std::string_view text, size_t max_depth) {
  if (auto scalar = plain_scalar(text)) return std::move(*scalar);
  ValueBuilder builder(max_depth);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidInput, std::string("invalid JSON: ") + e.what());
  }
  if (!ok) {
    std::string what = builder.error();
    // nlohmann's own messages start "[json.exception.parse_error.101] parse error at line..."
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    if (what.rfind("parse error", 0) == 0) {
      return make_error(ErrorCode::kInvalidInput, "invalid JSON: " + what);
    }
    if (!builder.offset()) return make_error(ErrorCode::kInvalidInput, "invalid JSON: " + what);
    return make_error(ErrorCode::kInvalidInput,
                      "invalid JSON at " + position_of(text, *builder.offset()) + ": " + what);
  }
  return builder.take();
}

}  // namespace pl
