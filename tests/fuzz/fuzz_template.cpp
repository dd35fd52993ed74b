// Templates: the first line of the input is a template, the rest a JSON object to use as the
// scope (the rich scope of fuzz_support.h when it is not one).
//
// Properties: parsing and rendering never crash, never take long, and fail only with
// kInvalidInput or kNotFound; text without "{{" renders unchanged; text around or between
// templates renders to a string; render_value with a cache renders the same as without.
#include "common/pipeline/template.h"
#include "tests/fuzz/fuzz_entry.h"
#include "tests/fuzz/fuzz_support.h"

namespace pl::fuzz {
namespace {

Finding check_render_error(const Error& error, std::string_view what) {
  if (error.code != ErrorCode::kInvalidInput && error.code != ErrorCode::kNotFound) {
    return std::string(what) + " failed with code " +
           std::to_string(static_cast<int>(error.code)) + ": " + error.message;
  }
  return check_error(error, what);
}

}  // namespace

Finding template_render(std::string_view input) {
  auto [text, scope_text] = split_first_line(input);
  const Value scope_object = scope_from(scope_text);
  const pipeline::ValueScope scope(scope_object);

  auto rendered = pipeline::render_template(text, scope);
  if (!pipeline::has_template(text)) {
    if (!rendered.ok() || !rendered->is_string() || rendered->as_string() != text) {
      return "text without a template did not render to itself";
    }
  }
  if (!rendered.ok()) {
    if (Finding f = check_render_error(rendered.error(), "render_template")) return f;
  }

  auto parsed = pipeline::Template::parse(text);
  if (parsed.ok()) {
    for (const auto& e : parsed->expressions()) (void)e.references();
    auto again = parsed->render(scope);
    if (again.ok() != rendered.ok()) return "Template::render and render_template disagree";
    if (again.ok() && !parsed->is_single_expression() && !again->is_string()) {
      return "a template with text around it rendered to a " +
             std::string(kind_name(again->kind()));
    }
  } else if (rendered.ok()) {
    return "render_template succeeded on a template that does not parse";
  }

  // The same string inside a structure, rendered with and without a cache, twice with it.
  const Value holder(Value::Object{{"list", Value(Value::Array{Value(std::string(text)), Value(1)})},
                                   {"text", Value(std::string(text))}});
  auto plain = pipeline::render_value(holder, scope);
  pipeline::TemplateCache cache(2);
  auto cached = pipeline::render_value(holder, scope, &cache);
  auto cached_again = pipeline::render_value(holder, scope, &cache);
  if (plain.ok() != cached.ok() || cached.ok() != cached_again.ok()) {
    return "render_value with and without a cache disagree";
  }
  if (!plain.ok()) return check_render_error(plain.error(), "render_value");
  if (!identical(*plain, *cached) || !identical(*cached, *cached_again)) {
    return "render_value with a cache rendered something else";
  }
  return std::nullopt;
}

}  // namespace pl::fuzz

PL_FUZZ_TARGET(template_render)
