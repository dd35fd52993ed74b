#include "worker/llm/call_spec.h"

#include <cmath>
#include <cstdlib>

#include "worker/llm/prompt_builder.h"
#include "worker/step_option.h"

namespace pl::worker::llm {
namespace {

// Reads the members of one options map; the first problem is kept and reported by status().
class OptionReader {
 public:
  // REQUIRES: `map` outlives the reader.
  OptionReader(const Value& map, std::string prefix) : map_(map), prefix_(std::move(prefix)) {
    if (!map.is_null() && !map.is_object()) {
      fail("", "expected a map, got " + a_kind(map.kind()));
    }
  }

  std::string string(std::string_view key) {
    const Value* v = member(key);
    if (!v) return "";
    if (v->is_string()) return v->as_string();
    wrong(key, *v, "a string");
    return "";
  }

  std::optional<int64_t> integer(std::string_view key, int64_t min) {
    const Value* v = member(key);
    if (!v) return std::nullopt;
    const std::optional<int64_t> out = option_integer(*v);
    if (!out) {
      wrong(key, *v, "an integer");
      return std::nullopt;
    }
    if (*out < min) {
      fail(key, "must be at least " + std::to_string(min));
      return std::nullopt;
    }
    return out;
  }

  std::optional<double> number(std::string_view key) {
    const Value* v = member(key);
    if (!v) return std::nullopt;
    if (v->is_number()) return v->as_double();
    if (v->is_string() && !v->as_string().empty()) {
      char* end = nullptr;
      const double d = std::strtod(v->as_string().c_str(), &end);
      if (end && *end == '\0' && std::isfinite(d)) return d;
    }
    wrong(key, *v, "a number");
    return std::nullopt;
  }

  std::vector<std::string> strings(std::string_view key) {
    const Value* v = member(key);
    std::vector<std::string> out;
    if (!v) return out;
    if (v->is_string()) {
      if (!v->as_string().empty()) out.push_back(v->as_string());
      return out;
    }
    if (!v->is_array()) {
      wrong(key, *v, "a list of strings");
      return out;
    }
    for (const Value& e : v->as_array()) {
      if (!e.is_string()) {
        wrong(key, e, "a list of strings");
        return {};
      }
      out.push_back(e.as_string());
    }
    return out;
  }

  Status status() const {
    if (error_.empty()) return ok_status();
    return make_error(ErrorCode::kInvalidInput, error_);
  }

 private:
  const Value* member(std::string_view key) const {
    const Value* v = map_.find(key);
    return v && !v->is_null() ? v : nullptr;
  }
  void wrong(std::string_view key, const Value& v, std::string_view expected) {
    fail(key, "expected " + std::string(expected) + ", got " + a_kind(v.kind()));
  }
  void fail(std::string_view key, const std::string& what) {
    if (!error_.empty()) return;
    std::string where = prefix_;
    if (!key.empty()) where += (where.empty() ? "" : ".") + std::string(key);
    error_ = (where.empty() ? "options" : where) + ": " + what;
  }

  const Value& map_;
  std::string prefix_;
  std::string error_;
};

}  // namespace

Result<CallSpec> claude_call_spec(const Value& options) {
  CallSpec s;
  s.provider = "anthropic";
  OptionReader r(options, "claude_options");
  s.model = r.string("model");
  s.system = r.string("system_prompt");
  const std::string append = r.string("append_system_prompt");
  if (!append.empty()) s.system += (s.system.empty() ? "" : "\n\n") + append;
  s.max_turns = r.integer("max_turns", 1).value_or(0);
  s.allowed_tools = r.strings("allowed_tools");
  s.max_tokens = r.integer("max_tokens", 1);
  s.temperature = r.number("temperature");
  s.top_p = r.number("top_p");
  s.top_k = r.integer("top_k", 1);
  if (auto st = r.status(); !st.ok()) return std::move(st).error();
  return s;
}

Result<CallSpec> gemini_call_spec(const Value& input) {
  CallSpec s;
  s.provider = "gemini";
  OptionReader top(input, "");
  s.model = top.string("model");
  s.system = top.string("system_prompt");
  if (auto st = top.status(); !st.ok()) return std::move(st).error();
  static const Value kNone;
  const Value* budget = input.find("token_budget");
  OptionReader r(budget ? *budget : kNone, "token_budget");
  s.max_tokens = r.integer("max_output_tokens", 1);
  s.temperature = r.number("temperature");
  s.top_p = r.number("top_p");
  s.top_k = r.integer("top_k", 1);
  if (auto st = r.status(); !st.ok()) return std::move(st).error();
  return s;
}

Result<CallSpec> llm_call_spec(const Value& input, const std::string& default_provider) {
  CallSpec s;
  OptionReader r(input, "");
  s.provider = r.string("provider");
  if (s.provider.empty()) s.provider = default_provider;
  s.model = r.string("model");
  s.system = r.string("system_prompt");
  s.max_tokens = r.integer("max_tokens", 1);
  s.temperature = r.number("temperature");
  s.top_p = r.number("top_p");
  s.max_turns = r.integer("max_turns", 1).value_or(0);
  s.allowed_tools = r.strings("allowed_tools");
  if (auto st = r.status(); !st.ok()) return std::move(st).error();
  return s;
}

}  // namespace pl::worker::llm
