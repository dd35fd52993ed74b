#include "common/config/yaml_document.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <limits>

#include "common/config/yaml_quotes.h"
#include "common/config/yaml_text.h"
#include "common/fs.h"

namespace pl {
namespace {

SourceLocation location_of(const YAML::Mark& mark, const std::string& file) {
  return SourceLocation{file, mark.line + 1, mark.column + 1};
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_octal(char c) { return c >= '0' && c <= '7'; }

std::string_view without_sign(std::string_view s) {
  return !s.empty() && (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
}

// [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool is_core_float(std::string_view s) {
  s = without_sign(s);
  size_t i = 0;
  const size_t int_start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  const bool int_digits = i > int_start;
  bool frac_digits = false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t frac_start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    frac_digits = i > frac_start;
  }
  if (!int_digits && !frac_digits) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const size_t exp_start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == exp_start) return false;
  }
  return i == s.size();
}

// YAML 1.2 core schema resolution for an untagged plain scalar.
Value plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Value();
  if (s == "true" || s == "True" || s == "TRUE") return Value(true);
  if (s == "false" || s == "False" || s == "FALSE") return Value(false);
  if (all_of(without_sign(s), is_digit)) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && end && *end == '\0') return Value(static_cast<int64_t>(v));
    return Value(std::strtod(s.c_str(), nullptr));
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && all_of(std::string_view(s).substr(2), is_hex)) {
    return Value(static_cast<int64_t>(std::strtoll(s.c_str() + 2, nullptr, 16)));
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && all_of(std::string_view(s).substr(2), is_octal)) {
    return Value(static_cast<int64_t>(std::strtoll(s.c_str() + 2, nullptr, 8)));
  }
  if (is_core_float(s)) return Value(std::strtod(s.c_str(), nullptr));
  const std::string_view unsigned_part = without_sign(s);
  if (unsigned_part == ".inf" || unsigned_part == ".Inf" || unsigned_part == ".INF") {
    return Value(s[0] == '-' ? -std::numeric_limits<double>::infinity()
                             : std::numeric_limits<double>::infinity());
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return Value(std::numeric_limits<double>::quiet_NaN());
  return Value(s);
}

class Converter {
 public:
  Converter(const std::string& file, std::string_view text, const YamlLimits& limits,
            std::map<std::string, SourceLocation, std::less<>>& values,
            std::map<std::string, SourceLocation, std::less<>>& keys)
      : file_(file), text_(text), limits_(limits), values_(values), keys_(keys) {}

  Result<Value> convert(const YAML::Node& node, const std::string& path, size_t depth) {
    if (++nodes_ > limits_.max_nodes) {
      return error(node, "more than " + std::to_string(limits_.max_nodes) +
                             " nodes (an alias bomb?)");
    }
    if (depth > limits_.max_depth) {
      return error(node, "nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    values_.emplace(path, location_of(node.Mark(), file_));
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return Value();
      case YAML::NodeType::Scalar:
        // yaml-cpp tags quoted (and !!str) scalars "!"; plain ones "?".
        if (node.Tag() == "?") {
          Value v = plain_scalar(node.Scalar());
          // JSON, where configs' and tools' values go (a tool's schema, say), has no spelling
          // for them: written out, they would become null.
          if (v.is_double() && !std::isfinite(v.as_double())) {
            return error(node, "the number " + node.Scalar() + " is not finite");
          }
          return v;
        }
        if (!yaml_quote_closes(text_, static_cast<size_t>(node.Mark().pos))) {
          return error(node, std::string(kYamlUnclosedQuote));
        }
        return Value(node.Scalar());
      case YAML::NodeType::Sequence: {
        Value::Array array;
        size_t index = 0;
        for (const auto& element : node) {
          auto v = convert(element, pointer_append(path, index++), depth + 1);
          if (!v.ok()) return v;
          array.push_back(std::move(*v));
        }
        return Value(std::move(array));
      }
      case YAML::NodeType::Map: {
        Value::Object object;
        for (const auto& kv : node) {
          if (!kv.first.IsScalar()) return error(kv.first, "a mapping key must be a plain name");
          const std::string& key = kv.first.Scalar();
          const std::string member_path = pointer_append(path, key);
          if (object.count(key)) return error(kv.first, "duplicate key \"" + key + "\"");
          keys_.emplace(member_path, location_of(kv.first.Mark(), file_));
          auto v = convert(kv.second, member_path, depth + 1);
          if (!v.ok()) return v;
          // A member without a value ("key:") has the key's location, not a bogus one.
          if (kv.second.IsNull()) values_[member_path] = location_of(kv.first.Mark(), file_);
          object.emplace(key, std::move(*v));
        }
        return Value(std::move(object));
      }
    }
    return error(node, "unsupported YAML node");
  }

 private:
  Error error(const YAML::Node& node, const std::string& what) {
    return make_error(ErrorCode::kInvalidInput,
                      to_string(location_of(node.Mark(), file_)) + ": " + what);
  }

  const std::string& file_;
  std::string_view text_;
  const YamlLimits& limits_;
  std::map<std::string, SourceLocation, std::less<>>& values_;
  std::map<std::string, SourceLocation, std::less<>>& keys_;
  size_t nodes_ = 0;
};

}  // namespace

SourceLocation YamlDocument::where(std::string_view path) const {
  auto it = values_.find(path);
  return it == values_.end() ? SourceLocation{file_, 0, 0} : it->second;
}

SourceLocation YamlDocument::where_key(std::string_view path) const {
  auto it = keys_.find(path);
  return it == keys_.end() ? where(path) : it->second;
}

std::string pointer_append(std::string_view base, std::string_view segment) {
  std::string out(base);
  out.push_back('/');
  for (char c : segment) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string pointer_append(std::string_view base, size_t index) {
  return pointer_append(base, std::to_string(index));
}

Result<YamlDocument> parse_yaml(std::string_view text, const std::string& display_name,
                                const YamlLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return make_error(ErrorCode::kTooLarge, display_name + ": over " +
                                                std::to_string(limits.max_bytes) + " bytes");
  }
  if (auto fault = yaml_text_fault(text)) {
    return make_error(ErrorCode::kInvalidInput,
                      to_string(SourceLocation{display_name, fault->line, fault->column}) + ": " +
                          fault->message);
  }
  YamlDocument doc;
  doc.file_ = display_name;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {  // its own message is "bad file"
    return make_error(ErrorCode::kInvalidInput,
                      to_string(location_of(e.mark, display_name)) +
                          ": YAML nesting is too deep (the parser stopped at " +
                          std::to_string(e.depth()) + " levels)");
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kInvalidInput, to_string(location_of(e.mark, display_name)) +
                                                    ": " + e.msg +
                                                    tab_indentation_hint(text, e.mark.line + 1));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidInput, display_name + ": " + e.what());
  }
  try {
    Converter converter(doc.file_, text, limits, doc.values_, doc.keys_);
    auto value = converter.convert(root, "", 0);
    if (!value.ok()) return std::move(value).error();
    doc.root_ = std::move(*value);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidInput, display_name + ": " + e.what());
  }
  return doc;
}

Result<YamlDocument> load_yaml_file(const std::filesystem::path& path, const YamlLimits& limits) {
  auto text = read_file(path, limits.max_bytes);
  if (!text.ok()) return std::move(text).error();
  return parse_yaml(*text, path.string(), limits);
}

}  // namespace pl
