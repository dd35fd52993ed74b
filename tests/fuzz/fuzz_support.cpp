#include "tests/fuzz/fuzz_support.h"

#include <cmath>
#include <cstring>
#include <optional>

#include "common/json.h"

namespace pl::fuzz {

std::pair<std::string_view, std::string_view> split_first_line(std::string_view input) {
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return {input, {}};
  return {input.substr(0, newline), input.substr(newline + 1)};
}

const Value& rich_scope() {
  static const Value scope = [] {
    auto parsed = parse_json(R"json({
      "inputs": {"name": "world", "count": 3, "ratio": 0.5, "flag": true, "none": null,
                 "tags": ["a", "b", "c"], "empty_list": [], "empty_map": {}, "empty": "",
                 "big": 9223372036854775807, "small": -9223372036854775808, "neg": -7,
                 "unicode": "h\u00e9llo \u4e16\u754c \ud83d\ude00", "template": "{{ inputs.name }}",
                 "pattern": "^a+b$", "csv": "a,b\n1,2\n", "number_text": "42"},
      "steps": {
        "fetch": {"success": true, "text": "fetched", "data": {"items": [1, 2, 3],
                  "users": [{"name": "ann", "age": 31, "status": "ok"},
                            {"name": "bob", "age": 17, "status": "failed"},
                            {"name": "cy", "age": null, "status": "ok"}],
                  "nested": {"a": {"b": {"c": [[1, [2, [3]]], {"d": "deep"}]}}}}},
        "score": {"success": true, "value": 87.5, "data": 87},
        "failed_step": {"success": false, "error": "boom", "error_code": "E42"},
        "list_step": {"success": true, "data": ["x", "y", "z", "", null, 1.5e300]},
        "0": {"data": "a step named zero"}
      },
      "global_vars": {"env": "test", "limit": 10, "threshold": 0.75,
                      "matrix": [[1, 2], [3, 4]], "map": {"k": "v", "K": "V"}},
      "state": {"counter": 5, "done": false, "history": ["one", "two"], "text": "a.b[0]"},
      "loop": {"item": {"id": 7, "name": "seven"}, "index": 1, "total": 3, "first": false,
               "last": false, "is_first": false, "is_last": false, "length": 3,
               "parent": {"item": "outer", "index": 0, "total": 2, "first": true, "last": false,
                          "is_first": true, "is_last": false, "length": 2}}
    })json");
    return parsed.ok() ? std::move(*parsed) : Value::object();
  }();
  return scope;
}

Value scope_from(std::string_view text) {
  if (text.empty()) return rich_scope();
  auto parsed = parse_json(text);
  if (parsed.ok() && parsed->is_object()) return std::move(*parsed);
  return rich_scope();
}

bool identical(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kDouble: {
      const double x = a.as_double(), y = b.as_double();
      return std::memcmp(&x, &y, sizeof x) == 0 || (std::isnan(x) && std::isnan(y));
    }
    case Value::Kind::kArray: {
      const auto& x = a.as_array();
      const auto& y = b.as_array();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!identical(x[i], y[i])) return false;
      }
      return true;
    }
    case Value::Kind::kObject: {
      const auto& x = a.as_object();
      const auto& y = b.as_object();
      if (x.size() != y.size()) return false;
      for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
        if (i->first != j->first || !identical(i->second, j->second)) return false;
      }
      return true;
    }
    default:
      return a == b;
  }
}

namespace {

std::string excerpt(const Value& v) {
  std::string text = to_json(v);
  return text.size() <= 80 ? text : text.substr(0, 77) + "...";
}

std::string difference_at(const Value& a, const Value& b, const std::string& path) {
  if (a.kind() == b.kind() && a.is_array() && a.size() == b.size()) {
    for (size_t i = 0; i < a.size(); ++i) {
      std::string d = difference_at(a.as_array()[i], b.as_array()[i], path + "/" + std::to_string(i));
      if (!d.empty()) return d;
    }
    return "";
  }
  if (a.kind() == b.kind() && a.is_object() && a.size() == b.size()) {
    for (auto i = a.as_object().begin(), j = b.as_object().begin(); i != a.as_object().end();
         ++i, ++j) {
      if (i->first != j->first) {
        return "at " + path + ": key " + excerpt(Value(i->first)) + " vs " + excerpt(Value(j->first));
      }
      std::string d = difference_at(i->second, j->second, path + "/" + excerpt(Value(i->first)));
      if (!d.empty()) return d;
    }
    return "";
  }
  if (identical(a, b)) return "";
  return "at " + (path.empty() ? std::string("/") : path) + ": " + excerpt(a) + " (" +
         std::string(kind_name(a.kind())) + ") vs " + excerpt(b) + " (" +
         std::string(kind_name(b.kind())) + ")";
}

}  // namespace

std::string difference(const Value& a, const Value& b) { return difference_at(a, b, ""); }

std::optional<std::string> check_error(const Error& error, std::string_view what) {
  if (error.code == ErrorCode::kInternal) {
    return std::string(what) + ": an internal error (a caught exception?): " + error.message;
  }
  if (error.message.empty()) return std::string(what) + ": an error without a message";
  return std::nullopt;
}

}  // namespace pl::fuzz
