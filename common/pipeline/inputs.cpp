#include "common/pipeline/inputs.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "common/json.h"
#include "common/pipeline/expression.h"
#include "common/pipeline/loader.h"
#include "common/pipeline/no_throw.h"
#include "common/pipeline/suggest.h"
#include "common/text.h"

namespace pl::pipeline {
namespace {

constexpr size_t kMaxExcerpt = 40;

std::string excerpt(const Value& v) {
  std::string text = to_json(v);
  return text.size() <= kMaxExcerpt ? text : text.substr(0, kMaxExcerpt) + "...";
}

Error input_error(const InputSpec& spec, const std::string& what) {
  return make_error(ErrorCode::kInvalidInput, "input \"" + spec.name + "\" " + what);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::optional<Value> parse_number(const std::string& s, bool integer_only) {
  int64_t i = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) return Value(i);
  if (integer_only) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(d) ||
      std::isspace(static_cast<unsigned char>(s[0]))) {
    return std::nullopt;
  }
  return Value(d);
}

std::string article_type(std::string_view type) {
  if (type == "integer") return "an integer";
  if (type == "bool") return "a bool";
  if (type == "list") return "a list";
  if (type == "map") return "a map";
  return "a " + std::string(type);
}

// A command-line string as the canonical `type`; nullopt when it does not read as one.
std::optional<Value> from_text(const std::string& type, const std::string& s) {
  if (type == "number" || type == "integer") return parse_number(s, type == "integer");
  if (type == "bool") {
    const std::string word = lower(s);
    if (word == "true" || word == "yes" || word == "1" || word == "on") return Value(true);
    if (word == "false" || word == "no" || word == "0" || word == "off") return Value(false);
    return std::nullopt;
  }
  if (type == "list" || type == "map") {
    auto parsed = parse_json(s);
    if (parsed.ok() && has_input_type(*parsed, type)) return std::move(*parsed);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> canonical_input_type(std::string_view name) {
  if (name == "string" || name == "number" || name == "integer" || name == "bool" ||
      name == "list" || name == "map") {
    return std::string(name);
  }
  if (name == "any" || name.empty()) return std::string();
  if (name == "boolean") return std::string("bool");
  if (name == "array") return std::string("list");
  if (name == "object") return std::string("map");
  return std::nullopt;
}

std::string input_type_of_default(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "integer";
    case Value::Kind::kDouble:
      return "number";
    case Value::Kind::kArray:
      return "list";
    case Value::Kind::kObject:
      return "map";
    default:
      return "";
  }
}

bool has_input_type(const Value& v, std::string_view type) {
  if (type.empty()) return true;
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") return v.is_int();
  if (type == "bool") return v.is_bool();
  if (type == "list") return v.is_array();
  if (type == "map") return v.is_object();
  return false;
}

Result<Value> convert_input(const InputSpec& spec, const Value& v) {
  std::optional<Value> converted;
  if (!has_input_type(v, spec.type)) {
    if (v.is_string()) converted = from_text(spec.type, v.as_string());
    if (spec.type == "integer" && v.is_double() && std::floor(v.as_double()) == v.as_double() &&
        std::fabs(v.as_double()) < 9.0e18) {
      converted = Value(static_cast<int64_t>(v.as_double()));
    }
    if (!converted) {
      return input_error(spec, "must be " + article_type(spec.type) + ", got " +
                                   std::string(kind_name(v.kind())) + " " + excerpt(v));
    }
  }
  const Value& result = converted ? *converted : v;
  if (!spec.allowed.empty()) {
    bool found = std::any_of(spec.allowed.begin(), spec.allowed.end(),
                             [&](const Value& a) { return values_equal(a, result); });
    if (!found) {
      std::string words;
      for (const Value& a : spec.allowed) words += (words.empty() ? "" : ", ") + to_json(a);
      return input_error(spec, "must be one of " + words + "; got " + excerpt(result));
    }
  }
  return Result<Value>(result);
}

namespace {

Result<Value> bind(const Pipeline& pipeline, const Value& given) {
  if (!given.is_null() && !given.is_object()) {
    return make_error(ErrorCode::kInvalidInput, "inputs must be a map of name -> value, got " +
                                                    a_kind(given.kind()));
  }
  Value::Object bound;
  std::vector<std::string> problems;
  std::vector<std::string> declared;
  for (const InputSpec& spec : pipeline.inputs) {
    declared.push_back(spec.name);
    const Value* value = given.find(spec.name);
    if (value) {
      auto converted = convert_input(spec, *value);
      if (converted.ok()) {
        bound.insert_or_assign(spec.name, std::move(*converted));
      } else {
        problems.push_back(converted.error().message);
      }
    } else if (!spec.default_value.is_null()) {
      bound.insert_or_assign(spec.name, spec.default_value);
    } else if (spec.required) {
      problems.push_back("missing required input \"" + spec.name + "\"");
    }
  }
  if (given.is_object()) {
    for (const auto& [name, value] : given.as_object()) {
      if (std::find(declared.begin(), declared.end(), name) != declared.end()) continue;
      if (pipeline.inputs_declared) {
        problems.push_back(
            "unknown input \"" + name + "\"" + did_you_mean(name, declared) +
            "; the pipeline declares " +
            (declared.empty() ? std::string("no inputs") : "inputs " + join(declared, ", ")));
      } else {
        bound.insert_or_assign(name, value);
      }
    }
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::kInvalidInput, join(problems, "; "));
  }
  return Value(std::move(bound));
}

}  // namespace

Result<Value> bind_inputs(const Pipeline& pipeline, const Value& given) {
  return detail::no_throw("binding inputs", [&]() { return bind(pipeline, given); });
}

}  // namespace pl::pipeline
