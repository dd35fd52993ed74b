#include "common/pipeline/template.h"

#include "common/pipeline/expression_ast.h"
#include "common/pipeline/no_throw.h"

namespace pl::pipeline {
namespace {

constexpr size_t kMaxExcerpt = 60;

std::string excerpt(std::string_view text) {
  if (text.size() <= kMaxExcerpt) return std::string(text);
  return std::string(text.substr(0, kMaxExcerpt)) + "...";
}

// The offset of the "}}" that closes an expression starting at `from`, skipping quoted strings;
// npos when there is none.
size_t find_close(std::string_view text, size_t from) {
  char quote = 0;
  for (size_t i = from; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      return i;
    }
  }
  return std::string_view::npos;
}

// The path of a failing string is built on the way out of the recursion, only on error.
Error at_path(Error error, const std::string& segment) {
  const std::string prefix = "at \"";
  if (error.message.rfind(prefix, 0) == 0) {
    error.message.insert(prefix.size(), segment + ".");
  } else {
    error.message = prefix + segment + "\": " + error.message;
  }
  return error;
}

Result<Value> render_at(const Value& v, const Scope& scope, TemplateCache* cache) {
  switch (v.kind()) {
    case Value::Kind::kString: {
      if (!has_template(v.as_string())) return v;
      if (!cache) return render_template(v.as_string(), scope);
      auto parsed = cache->get(v.as_string());
      if (!parsed.ok()) return std::move(parsed).error();
      return (*parsed)->render(scope);
    }
    case Value::Kind::kArray: {
      Value::Array out;
      out.reserve(v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        auto r = render_at(v.as_array()[i], scope, cache);
        if (!r.ok()) return at_path(std::move(r).error(), std::to_string(i));
        out.push_back(std::move(*r));
      }
      return Value(std::move(out));
    }
    case Value::Kind::kObject: {
      Value::Object out;
      for (const auto& [key, member] : v.as_object()) {
        auto r = render_at(member, scope, cache);
        if (!r.ok()) return at_path(std::move(r).error(), key);
        out.emplace_hint(out.end(), key, std::move(*r));
      }
      return Value(std::move(out));
    }
    default:
      return v;
  }
}

}  // namespace

bool has_template(std::string_view text) { return text.find("{{") != std::string_view::npos; }

std::string template_text(const Value& v) { return detail::text_of(v); }

Result<Template> Template::parse(std::string_view text) {
  Template t;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.parts_.push_back(Part{std::string(text.substr(pos)), std::nullopt});
      break;
    }
    if (open > pos)
      t.parts_.push_back(Part{std::string(text.substr(pos, open - pos)), std::nullopt});
    const size_t close = find_close(text, open + 2);
    if (close == std::string_view::npos) {
      return make_error(ErrorCode::kInvalidInput, "unterminated \"{{\" at offset " +
                                                      std::to_string(open) + " in \"" +
                                                      excerpt(text) + "\"");
    }
    std::string_view inner = text.substr(open + 2, close - open - 2);
    if (inner.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      return make_error(
          ErrorCode::kInvalidInput,
          "empty \"{{ }}\" at offset " + std::to_string(open) + " in \"" + excerpt(text) + "\"");
    }
    auto expression = Expression::parse(inner);
    if (!expression.ok()) return std::move(expression).error();
    t.parts_.push_back(Part{std::string(), std::move(*expression)});
    pos = close + 2;
  }
  t.single_ = t.parts_.size() == 1 && t.parts_[0].expression.has_value();
  return t;
}

Result<Value> Template::render(const Scope& scope) const {
  return detail::no_throw("rendering a template", [&]() { return render_parts(scope); });
}

Result<Value> Template::render_parts(const Scope& scope) const {
  if (single_) return parts_[0].expression->evaluate(scope);
  std::string out;
  for (const Part& part : parts_) {
    if (!part.expression) {
      out += part.literal;
      continue;
    }
    auto v = part.expression->evaluate(scope);
    if (!v.ok()) return v;
    out += detail::text_of(*v);
  }
  return Value(std::move(out));
}

std::vector<Expression> Template::expressions() const {
  std::vector<Expression> out;
  for (const Part& part : parts_) {
    if (part.expression) out.push_back(*part.expression);
  }
  return out;
}

Result<Value> render_template(std::string_view text, const Scope& scope) {
  if (!has_template(text)) return Value(text);
  auto t = Template::parse(text);
  if (!t.ok()) return std::move(t).error();
  return t->render(scope);
}

Result<Value> render_value(const Value& v, const Scope& scope, TemplateCache* cache) {
  return detail::no_throw("rendering", [&]() { return render_at(v, scope, cache); });
}

Result<const Template*> TemplateCache::get(const std::string& text) {
  auto it = entries_.find(&text);
  if (it != entries_.end() && it->second.text == text) return &it->second.parsed;
  auto parsed = Template::parse(text);
  if (!parsed.ok()) return std::move(parsed).error();
  if (entries_.size() >= max_entries_) entries_.clear();
  Entry& entry = entries_[&text];
  entry.text = text;
  entry.parsed = std::move(*parsed);
  return &entry.parsed;
}

}  // namespace pl::pipeline
