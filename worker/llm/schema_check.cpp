#include "worker/llm/schema_check.h"

#include <cmath>
#include <string>

#include "common/json.h"
#include "worker/llm/prompt_builder.h"

namespace pl::worker::llm {
namespace {

constexpr int kMaxDepth = 32;

bool has_type(const Value& v, std::string_view type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_bool();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    return v.is_int() || (v.is_double() && std::floor(v.as_double()) == v.as_double());
  }
  return true;  // an unknown type name constrains nothing
}

Status problem(const std::string& path, const std::string& what) {
  return make_error(ErrorCode::kStepFailed, path + ": " + what);
}

Status check(const Value& v, const Value& schema, const std::string& path, int depth) {
  if (depth > kMaxDepth || !schema.is_object()) return ok_status();
  if (const Value* type = schema.find("type")) {
    bool match = false;
    std::string names;
    if (type->is_string()) {
      match = has_type(v, type->as_string());
      names = type->as_string();
    } else if (type->is_array()) {
      for (const Value& t : type->as_array()) {
        if (!t.is_string()) continue;
        match = match || has_type(v, t.as_string());
        names += (names.empty() ? "" : " or ") + t.as_string();
      }
    } else {
      match = true;
    }
    if (!match) return problem(path, "expected " + names + ", got " + a_kind(v.kind()));
  }
  if (const Value* options = schema.find("enum"); options && options->is_array()) {
    bool found = false;
    std::string listed;
    for (const Value& o : options->as_array()) {
      found = found || o == v;
      listed += (listed.empty() ? "" : ", ") + to_json(o);
    }
    if (!found) return problem(path, "expected one of " + listed);
  }
  if (v.is_object()) {
    if (const Value* required = schema.find("required"); required && required->is_array()) {
      for (const Value& key : required->as_array()) {
        if (key.is_string() && !v.find(key.as_string())) {
          return problem(path, "missing required key \"" + key.as_string() + "\"");
        }
      }
    }
    const Value* props = schema.find("properties");
    const Value* extra = schema.find("additionalProperties");
    for (const auto& [key, member] : v.as_object()) {
      const Value* sub = props ? props->find(key) : nullptr;
      if (sub) {
        if (auto st = check(member, *sub, path + "." + key, depth + 1); !st.ok()) return st;
      } else if (extra && extra->is_bool() && !extra->as_bool()) {
        return problem(path, "unexpected key \"" + key + "\"");
      } else if (extra && extra->is_object()) {
        if (auto st = check(member, *extra, path + "." + key, depth + 1); !st.ok()) return st;
      }
    }
  }
  if (v.is_array()) {
    const int64_t n = static_cast<int64_t>(v.size());
    if (const Value* min = schema.find("minItems"); min && min->is_int() && n < min->as_int()) {
      return problem(path, "expected at least " + std::to_string(min->as_int()) + " items, got " + std::to_string(n));
    }
    if (const Value* max = schema.find("maxItems"); max && max->is_int() && n > max->as_int()) {
      return problem(path, "expected at most " + std::to_string(max->as_int()) + " items, got " + std::to_string(n));
    }
    if (const Value* items = schema.find("items"); items && items->is_object()) {
      for (size_t i = 0; i < v.as_array().size(); ++i) {
        if (auto st = check(v.as_array()[i], *items, path + "[" + std::to_string(i) + "]", depth + 1); !st.ok()) {
          return st;
        }
      }
    }
  }
  return ok_status();
}

}  // namespace

Status check_against_schema(const Value& value, const Value& schema) {
  return check(value, schema, "$", 0);
}

}  // namespace pl::worker::llm
