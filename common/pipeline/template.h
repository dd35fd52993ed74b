// Templates: text with {{ expression }} parts, rendered when a step runs (never at load time).
//
// A string that is exactly one template ("{{steps.a.data}}", no text around it) renders to the
// expression's value with its type kept (an object stays an object). Any other string renders
// to text: literal parts as written, strings raw, numbers, bools, null and containers as compact
// JSON. A string without "{{" is returned unchanged. There is no escape syntax: write
// {{ "{{" }} for a literal "{{". A "}}" inside a quoted string in the expression does not end it.
//
// Errors (kInvalidInput, or kNotFound for an unknown reference, as in expression.h):
// an unterminated "{{", an empty "{{ }}", and every error of the expressions inside.
#pragma once

#include <optional>
#include <unordered_map>
#include <string>
#include <string_view>
#include <vector>

#include "common/pipeline/expression.h"
#include "common/pipeline/scope.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::pipeline {

// Whether the text contains "{{" (and so must be rendered).
bool has_template(std::string_view text);

// A parsed template. Cheap to copy.
class Template {
 public:
  // Parses every {{ }} in `text`; errors name the offset of the bad part.
  [[nodiscard]] static Result<Template> parse(std::string_view text);

  // Renders against `scope` as described at the top of this file.
  [[nodiscard]] Result<Value> render(const Scope& scope) const;

  // Whether the whole text is one {{ }} (so render keeps the value's type).
  bool is_single_expression() const { return single_; }
  // The expressions in the order written.
  std::vector<Expression> expressions() const;

 private:
  struct Part {
    std::string literal;  // used when !expression
    std::optional<Expression> expression;
  };
  Result<Value> render_parts(const Scope& scope) const;

  std::vector<Part> parts_;
  bool single_ = false;
};

// Parsed templates kept across renders of the same strings (a loop body renders the same step
// options once per iteration). Keyed by the address of the string inside a Value that outlives
// the cache's use, and checked against the text, so a reused address never returns a stale
// template. Bounded: beyond `max_entries` it starts afresh. Not thread-safe.
class TemplateCache {
 public:
  explicit TemplateCache(size_t max_entries = 4096) : max_entries_(max_entries) {}
  // The parsed form of `text`, which lives at `text`'s address.
  Result<const Template*> get(const std::string& text);

 private:
  struct Entry {
    std::string text;
    Template parsed;
  };
  size_t max_entries_;
  std::unordered_map<const std::string*, Entry> entries_;
};

// Template::parse then render.
[[nodiscard]] Result<Value> render_template(std::string_view text, const Scope& scope);

// Renders every string inside `v` (list elements and map values, deeply); map keys are not
// rendered. Errors name the path of the string that failed: `at "args.path": ...`. With a
// cache, templates are parsed once per string.
[[nodiscard]] Result<Value> render_value(const Value& v, const Scope& scope,
                                         TemplateCache* cache = nullptr);

// How a value reads inside text: strings raw, everything else compact JSON.
std::string template_text(const Value& v);

}  // namespace pl::pipeline
