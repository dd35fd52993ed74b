#include "common/registry/json_schema.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/json.h"
#include "common/regex_match.h"
#include "common/text.h"

namespace pl {
namespace {

constexpr size_t kMaxProblems = 8;

constexpr std::string_view kTypeNames[] = {"string", "number", "integer", "boolean",
                                           "object", "array",  "null"};
constexpr std::string_view kAnnotations[] = {"title",    "description", "default",  "examples",
                                             "$schema",  "$id",         "$comment", "deprecated",
                                             "readOnly", "writeOnly",   "format"};
constexpr std::string_view kKeywords[] = {
    "type",      "properties", "required",   "additionalProperties", "items",
    "enum",      "const",      "minimum",    "maximum",              "exclusiveMinimum",
    "exclusiveMaximum",        "minLength",  "maxLength",            "pattern",
    "minItems",  "maxItems"};

// The JSON word for a value's kind: integers and doubles are both "a number".
std::string json_kind(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kBool:
      return "a boolean";
    case Value::Kind::kInt:
    case Value::Kind::kDouble:
      return "a number";
    case Value::Kind::kString:
      return "a string";
    case Value::Kind::kArray:
      return "an array";
    case Value::Kind::kObject:
      return "an object";
  }
  return "a value";
}

std::string article(std::string_view type) {
  if (type == "null") return "null";
  const bool vowel = !type.empty() && std::string_view("aeiou").find(type[0]) != std::string_view::npos;
  return std::string(vowel ? "an " : "a ") + std::string(type);
}

bool is_integral(const Value& v) {
  if (v.is_int()) return true;
  return v.is_double() && std::isfinite(v.as_double()) && std::floor(v.as_double()) == v.as_double();
}

bool matches_type(std::string_view type, const Value& v) {
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") return is_integral(v);
  if (type == "boolean") return v.is_bool();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "null") return v.is_null();
  return false;
}

size_t code_points(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string member_path(std::string_view base, std::string_view key) {
  std::string p(base);
  p.append(".").append(key);
  return p;
}

std::string index_path(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

// ---- check_schema ------------------------------------------------------------------------

class SchemaChecker {
 public:
  explicit SchemaChecker(std::vector<std::string_view> formats) : formats_(std::move(formats)) {}

  void check(const Value& schema, const std::string& path) {
    if (!schema.is_object()) {
      if (!schema.is_bool()) problem(path, "expected a schema (an object or a boolean), got " + json_kind(schema));
      return;
    }
    for (const auto& [key, value] : schema.as_object()) {
      if (known(key)) continue;
      std::vector<std::string_view> words(std::begin(kKeywords), std::end(kKeywords));
      words.insert(words.end(), std::begin(kAnnotations), std::end(kAnnotations));
      problem(path, "unsupported keyword \"" + key + "\"" + did_you_mean(key, words));
    }
    check_type(schema, path);
    if (const Value* props = schema.find("properties")) {
      if (!props->is_object()) {
        problem(member_path(path, "properties"), "expected an object, got " + json_kind(*props));
      } else {
        for (const auto& [name, sub] : props->as_object()) {
          check(sub, member_path(member_path(path, "properties"), name));
        }
      }
    }
    if (const Value* required = schema.find("required")) {
      if (!required->is_array()) {
        problem(member_path(path, "required"), "expected an array of names, got " + json_kind(*required));
      } else {
        for (size_t i = 0; i < required->size(); ++i) {
          if (!required->as_array()[i].is_string()) {
            problem(index_path(member_path(path, "required"), i), "expected a string");
          }
        }
      }
    }
    if (const Value* extra = schema.find("additionalProperties"); extra && !extra->is_bool()) {
      check(*extra, member_path(path, "additionalProperties"));
    }
    if (const Value* items = schema.find("items")) check(*items, member_path(path, "items"));
    if (const Value* e = schema.find("enum"); e && (!e->is_array() || e->size() == 0)) {
      problem(member_path(path, "enum"), "expected a non-empty array");
    }
    for (std::string_view key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
      if (const Value* v = schema.find(key); v && !v->is_number()) {
        problem(member_path(path, key), "expected a number, got " + json_kind(*v));
      }
    }
    for (std::string_view key : {"minLength", "maxLength", "minItems", "maxItems"}) {
      if (const Value* v = schema.find(key); v && (!v->is_int() || v->as_int() < 0)) {
        problem(member_path(path, key), "expected a non-negative integer, got " + to_json(*v));
      }
    }
    if (const Value* format = schema.find("format")) check_format(*format, member_path(path, "format"));
    if (const Value* pattern = schema.find("pattern")) check_pattern(*pattern, member_path(path, "pattern"));
  }

  Status status() const {
    if (problems_.empty()) return ok_status();
    return make_error(ErrorCode::kInvalidInput, join(problems_, "; "));
  }

 private:
  static bool known(std::string_view key) {
    return std::find(std::begin(kKeywords), std::end(kKeywords), key) != std::end(kKeywords) ||
           std::find(std::begin(kAnnotations), std::end(kAnnotations), key) != std::end(kAnnotations);
  }

  void check_type(const Value& schema, const std::string& path) {
    const Value* type = schema.find("type");
    if (!type) return;
    const std::string where = member_path(path, "type");
    std::vector<const Value*> names;
    if (type->is_array()) {
      for (const auto& t : type->as_array()) names.push_back(&t);
      if (names.empty()) problem(where, "expected at least one type name");
    } else {
      names.push_back(type);
    }
    for (const Value* name : names) {
      if (!name->is_string() ||
          std::find(std::begin(kTypeNames), std::end(kTypeNames), name->as_string()) == std::end(kTypeNames)) {
        problem(where, "unknown type " + to_json(*name) +
                           " (expected string, number, integer, boolean, object, array or null)");
      }
    }
  }

  void check_format(const Value& format, const std::string& path) {
    if (!format.is_string()) {
      problem(path, "expected a string, got " + json_kind(format));
      return;
    }
    const std::string& name = format.as_string();
    if (std::find(formats_.begin(), formats_.end(), name) != formats_.end()) return;
    std::string known;
    for (std::string_view f : formats_) known += (known.empty() ? "" : ", ") + std::string(f);
    problem(path, "\"" + name + "\" is not a format that is checked here (" +
                      (known.empty() ? "none is" : known) + ")" + did_you_mean(name, formats_));
  }

  void check_pattern(const Value& pattern, const std::string& path) {
    if (!pattern.is_string()) {
      problem(path, "expected a string, got " + json_kind(pattern));
      return;
    }
    Status usable = check_regex_pattern(pattern.as_string(), kMaxPatternLength);
    if (!usable.ok()) problem(path, usable.error().message);
  }

  void problem(const std::string& path, const std::string& what) {
    if (problems_.size() < kMaxProblems) problems_.push_back(path + ": " + what);
  }

  std::vector<std::string_view> formats_;
  std::vector<std::string> problems_;
};

// ---- validate ----------------------------------------------------------------------------

class Validator {
 public:
  explicit Validator(const FormatCheck& format) : format_(format) {}

  void validate(const Value& schema, const Value& v, const std::string& path) {
    if (full()) return;
    if (schema.is_bool()) {
      if (!schema.as_bool()) problem(path, "no value is allowed here");
      return;
    }
    if (!schema.is_object()) return;
    if (!check_type(schema, v, path)) return;  // the rest would only repeat the kind mismatch
    if (const Value* e = schema.find("enum"); e && e->is_array()) check_enum(*e, v, path);
    if (const Value* c = schema.find("const"); c && !values_equal(*c, v)) {
      problem(path, "expected " + to_json(*c) + ", got " + to_json(v));
    }
    if (v.is_number()) check_number(schema, v, path);
    if (v.is_string()) check_string(schema, v.as_string(), path);
    if (v.is_array()) check_array(schema, v.as_array(), path);
    if (v.is_object()) check_object(schema, v.as_object(), path);
  }

  Status status() const {
    if (problems_.empty()) return ok_status();
    return make_error(ErrorCode::kInvalidInput, join(problems_, "; "));
  }

 private:
  bool full() const { return problems_.size() >= kMaxProblems; }

  void problem(const std::string& path, const std::string& what) {
    if (!full()) problems_.push_back(path + ": " + what);
  }

  bool check_type(const Value& schema, const Value& v, const std::string& path) {
    const Value* type = schema.find("type");
    if (!type) return true;
    std::vector<std::string> names;
    if (type->is_string()) names.push_back(type->as_string());
    if (type->is_array()) {
      for (const auto& t : type->as_array()) {
        if (t.is_string()) names.push_back(t.as_string());
      }
    }
    for (const auto& name : names) {
      if (matches_type(name, v)) return true;
    }
    std::vector<std::string> wanted;
    for (const auto& name : names) wanted.push_back(article(name));
    std::string got = json_kind(v);
    if (v.is_double() && std::find(names.begin(), names.end(), "integer") != names.end()) {
      got += " with a fraction (" + to_json(v) + ")";
    }
    problem(path, "expected " + join(wanted, " or ") + ", got " + got);
    return false;
  }

  void check_enum(const Value& choices, const Value& v, const std::string& path) {
    for (const auto& c : choices.as_array()) {
      if (values_equal(c, v)) return;
    }
    problem(path, to_json(v) + " is not one of " + to_json(choices));
  }

  void check_number(const Value& schema, const Value& v, const std::string& path) {
    const double x = v.as_double();
    auto bound = [&](std::string_view key) -> std::optional<double> {
      const Value* b = schema.find(key);
      if (b && b->is_number()) return b->as_double();
      return std::nullopt;
    };
    if (auto min = bound("minimum"); min && x < *min) {
      problem(path, to_json(v) + " is less than the minimum " + to_json(*schema.find("minimum")));
    }
    if (auto max = bound("maximum"); max && x > *max) {
      problem(path, to_json(v) + " is greater than the maximum " + to_json(*schema.find("maximum")));
    }
    if (auto min = bound("exclusiveMinimum"); min && x <= *min) {
      problem(path, to_json(v) + " is not greater than " + to_json(*schema.find("exclusiveMinimum")));
    }
    if (auto max = bound("exclusiveMaximum"); max && x >= *max) {
      problem(path, to_json(v) + " is not less than " + to_json(*schema.find("exclusiveMaximum")));
    }
  }

  void check_string(const Value& schema, const std::string& s, const std::string& path) {
    const size_t length = code_points(s);
    if (const Value* min = schema.find("minLength"); min && min->is_int() &&
                                                     length < static_cast<size_t>(min->as_int())) {
      problem(path, "is " + std::to_string(length) + " characters long, shorter than the minLength " +
                        std::to_string(min->as_int()));
    }
    if (const Value* max = schema.find("maxLength"); max && max->is_int() &&
                                                     length > static_cast<size_t>(max->as_int())) {
      problem(path, "is " + std::to_string(length) + " characters long, longer than the maxLength " +
                        std::to_string(max->as_int()));
    }
    if (const Value* pattern = schema.find("pattern"); pattern && pattern->is_string()) {
      check_pattern(pattern->as_string(), s, path);
    }
    if (const Value* format = schema.find("format"); format && format->is_string() && format_) {
      if (auto why = format_(format->as_string(), s)) problem(path, *why);
    }
  }

  void check_pattern(const std::string& pattern, const std::string& s, const std::string& path) {
    if (s.size() > kMaxPatternSubject) {
      problem(path, "is " + std::to_string(s.size()) + " bytes long, over the " +
                        std::to_string(kMaxPatternSubject) + " bytes a pattern is checked on");
      return;
    }
    auto found = regex_search_checked(s, pattern, kMaxPatternLength);
    if (!found.ok()) {
      problem(path, "the pattern " + to_json(Value(pattern)) + " failed: " + found.error().message);
    } else if (!*found) {
      problem(path, to_json(Value(s)) + " does not match the pattern " + to_json(Value(pattern)));
    }
  }

  void check_array(const Value& schema, const Value::Array& a, const std::string& path) {
    if (const Value* min = schema.find("minItems"); min && min->is_int() &&
                                                    a.size() < static_cast<size_t>(min->as_int())) {
      problem(path, "has " + std::to_string(a.size()) + " items, fewer than the minItems " +
                        std::to_string(min->as_int()));
    }
    if (const Value* max = schema.find("maxItems"); max && max->is_int() &&
                                                    a.size() > static_cast<size_t>(max->as_int())) {
      problem(path, "has " + std::to_string(a.size()) + " items, more than the maxItems " +
                        std::to_string(max->as_int()));
    }
    if (const Value* items = schema.find("items")) {
      for (size_t i = 0; i < a.size() && !full(); ++i) validate(*items, a[i], index_path(path, i));
    }
  }

  void check_object(const Value& schema, const Value::Object& o, const std::string& path) {
    if (const Value* required = schema.find("required"); required && required->is_array()) {
      for (const auto& name : required->as_array()) {
        if (name.is_string() && o.find(name.as_string()) == o.end()) {
          problem(path, "missing required property \"" + name.as_string() + "\"");
        }
      }
    }
    const Value* props = schema.find("properties");
    const Value* extra = schema.find("additionalProperties");
    for (const auto& [key, value] : o) {
      const Value* sub = props && props->is_object() ? props->find(key) : nullptr;
      if (sub) {
        validate(*sub, value, member_path(path, key));
      } else if (extra && extra->is_bool() && !extra->as_bool()) {
        std::vector<std::string_view> names;
        if (props && props->is_object()) {
          for (const auto& [name, _] : props->as_object()) names.push_back(name);
        }
        problem(path, "unknown property \"" + key + "\"" + did_you_mean(key, names));
      } else if (extra && extra->is_object()) {
        validate(*extra, value, member_path(path, key));
      }
    }
  }

  const FormatCheck& format_;
  std::vector<std::string> problems_;
};

}  // namespace

Status check_schema(const Value& schema, std::string_view root,
                    std::vector<std::string_view> formats) {
  SchemaChecker checker(std::move(formats));
  checker.check(schema, std::string(root));
  return checker.status();
}

Status validate_against_schema(const Value& schema, const Value& instance, std::string_view root,
                               const FormatCheck& format) {
  Validator validator(format);
  validator.validate(schema, instance, std::string(root));
  return validator.status();
}

Value apply_schema_defaults(const Value& schema, Value instance) {
  if (!schema.is_object()) return instance;
  if (instance.is_array()) {
    if (const Value* items = schema.find("items"); items && items->is_object()) {
      for (Value& element : instance.as_array()) element = apply_schema_defaults(*items, std::move(element));
    }
    return instance;
  }
  if (!instance.is_object()) return instance;
  const Value* props = schema.find("properties");
  if (props && props->is_object()) {
    for (const auto& [name, sub] : props->as_object()) {
      Value* present = instance.find(name);
      if (present) {
        *present = apply_schema_defaults(sub, std::move(*present));
      } else if (const Value* fallback = sub.is_object() ? sub.find("default") : nullptr) {
        instance[name] = apply_schema_defaults(sub, *fallback);
      }
    }
  }
  if (const Value* extra = schema.find("additionalProperties"); extra && extra->is_object()) {
    for (auto& [name, member] : instance.as_object()) {
      if (!props || !props->is_object() || !props->find(name)) member = apply_schema_defaults(*extra, std::move(member));
    }
  }
  return instance;
}

namespace {

bool names_integer(const Value& schema) {
  const Value* type = schema.find("type");
  if (!type) return false;
  if (type->is_string()) return type->as_string() == "integer";
  if (!type->is_array()) return false;
  for (const Value& t : type->as_array()) {
    if (t.is_string() && t.as_string() == "integer") return true;
  }
  return false;
}

// A double with no fraction as an integer; anything else unchanged. A whole number outside
// int64 has no integer spelling (1e30 would reach argv as "1e+30"): an error naming `path`.
Result<Value> as_integer(Value v, const std::string& path) {
  if (!v.is_double() || !is_integral(v)) return v;
  const double d = v.as_double();
  // 2^63 is exact as a double; int64 holds [-2^63, 2^63).
  if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
    return make_error(ErrorCode::kInvalidInput,
                      path + ": " + to_json(v) + " is outside the 64-bit range of an integer");
  }
  return Value(static_cast<int64_t>(d));
}

// The member of `enum` (or `const`) equal to `v`, as the schema writes it; else `v`.
Value as_listed(const Value& schema, Value v) {
  if (const Value* c = schema.find("const"); c && values_equal(*c, v)) return *c;
  if (const Value* e = schema.find("enum"); e && e->is_array()) {
    for (const Value& choice : e->as_array()) {
      if (values_equal(choice, v)) return choice;
    }
  }
  return v;
}

}  // namespace

Result<Value> normalize_to_schema(const Value& schema, Value instance, const std::string& path) {
  if (!schema.is_object()) return instance;
  instance = as_listed(schema, std::move(instance));
  if (names_integer(schema)) {
    auto integer = as_integer(std::move(instance), path);
    if (!integer.ok()) return integer;
    instance = std::move(*integer);
  }
  if (instance.is_array()) {
    if (const Value* items = schema.find("items")) {
      size_t i = 0;
      for (Value& element : instance.as_array()) {
        auto normal = normalize_to_schema(*items, std::move(element), index_path(path, i++));
        if (!normal.ok()) return normal;
        element = std::move(*normal);
      }
    }
  } else if (instance.is_object()) {
    const Value* props = schema.find("properties");
    const Value* extra = schema.find("additionalProperties");
    for (auto& [key, member] : instance.as_object()) {
      const Value* sub = props && props->is_object() ? props->find(key) : nullptr;
      if (!sub && extra && extra->is_object()) sub = extra;
      if (!sub) continue;
      auto normal = normalize_to_schema(*sub, std::move(member), member_path(path, key));
      if (!normal.ok()) return normal;
      member = std::move(*normal);
    }
  }
  return instance;
}

}  // namespace pl
