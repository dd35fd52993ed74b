#include "common/pipeline/template.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace pl::pipeline {
namespace {

using testing::json;

const Value& values() {
  static const Value kValues = json(R"({
    "inputs": {"name": "Ada", "n": 3, "ratio": 0.25, "on": true},
    "steps": {"a": {"data": {"k": [1, 2]}, "text": "hi", "nothing": null}}
  })");
  return kValues;
}

Value render(std::string_view text) {
  ValueScope scope(values());
  auto r = render_template(text, scope);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Value("<error>");
}

Error render_error(std::string_view text) {
  ValueScope scope(values());
  auto r = render_template(text, scope);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? Error{} : r.error();
}

TEST(Template, HasTemplateLooksForOpeningBraces) {
  EXPECT_TRUE(has_template("x {{ y }}"));
  EXPECT_TRUE(has_template("{{ unterminated"));
  EXPECT_FALSE(has_template("plain { text }"));
  EXPECT_FALSE(has_template(""));
}

TEST(Template, TextWithoutTemplatesIsReturnedUnchanged) {
  EXPECT_EQ(render("no templates }} here"), Value("no templates }} here"));
}

TEST(Template, ASingleTemplateKeepsTheValuesType) {
  EXPECT_EQ(render("{{steps.a.data}}"), json(R"({"k": [1, 2]})"));
  EXPECT_EQ(render("{{ inputs.n }}"), Value(3));
  EXPECT_EQ(render("{{inputs.on}}"), Value(true));
  EXPECT_EQ(render("{{steps.a.nothing}}"), Value());
  EXPECT_EQ(render("{{ inputs.n * 2 }}"), Value(6));
}

TEST(Template, MixedTextStringifiesStringsRawAndOthersAsCompactJson) {
  EXPECT_EQ(render("Hello {{inputs.name}}!"), Value("Hello Ada!"));
  EXPECT_EQ(render("n={{inputs.n}} r={{inputs.ratio}} on={{inputs.on}}"),
            Value("n=3 r=0.25 on=true"));
  EXPECT_EQ(render("data: {{steps.a.data}}"), Value(R"(data: {"k":[1,2]})"));
  EXPECT_EQ(render("null: {{steps.a.nothing}}"), Value("null: null"));
  EXPECT_EQ(render("{{inputs.name}}{{inputs.n}}"), Value("Ada3"));
}

TEST(Template, SpacesAroundASingleTemplateMakeItText) {
  EXPECT_EQ(render(" {{inputs.n}}"), Value(" 3"));
}

TEST(Template, AnUnterminatedTemplateIsAnError) {
  Error e = render_error("Hello {{inputs.name");
  EXPECT_EQ(e.code, ErrorCode::kInvalidInput);
  EXPECT_EQ(e.message, "unterminated \"{{\" at offset 6 in \"Hello {{inputs.name\"");
}

TEST(Template, AnEmptyTemplateIsAnError) {
  EXPECT_NE(render_error("x {{  }} y").message.find("empty \"{{ }}\""), std::string::npos);
}

TEST(Template, ClosingBracesInsideAQuotedStringDoNotEndTheExpression) {
  EXPECT_EQ(render("{{ '}}' }}"), Value("}}"));
  EXPECT_EQ(render("a{{ \"{{\" }}b"), Value("a{{b"));
}

TEST(Template, AnUnknownReferenceIsAnErrorNotAnEmptyString) {
  Error e = render_error("Hi {{steps.a.missing}}!");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(e.message, "unknown reference \"steps.a.missing\": \"a\" has no member \"missing\"");
}

TEST(Template, DefaultMakesAbsenceExplicit) {
  EXPECT_EQ(render("Hi {{default(steps.a.missing, '')}}!"), Value("Hi !"));
}

TEST(Template, SyntaxErrorsInsideTemplatesAreReported) {
  EXPECT_NE(render_error("{{ 1 + }}").message.find("bad expression"), std::string::npos);
}

TEST(Template, ParsedTemplatesListTheirExpressions) {
  auto t = Template::parse("a {{x}} b {{y.z}}");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->is_single_expression());
  ASSERT_EQ(t->expressions().size(), 2u);
  EXPECT_EQ(t->expressions()[1].text(), "y.z");
  auto single = Template::parse("{{x}}");
  ASSERT_TRUE(single.ok());
  EXPECT_TRUE(single->is_single_expression());
}

TEST(RenderValue, RendersEveryStringDeeplyAndKeepsOtherValues) {
  Value input = json(R"({
    "prompt": "About {{inputs.name}}",
    "count": "{{inputs.n}}",
    "list": ["{{steps.a.text}}", 5, null, {"deep": "{{steps.a.data.k}}"}],
    "{{not a key template}}": true
  })");
  ValueScope scope(values());
  auto r = render_value(input, scope);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, json(R"({
    "prompt": "About Ada",
    "count": 3,
    "list": ["hi", 5, null, {"deep": [1, 2]}],
    "{{not a key template}}": true
  })"));
}

TEST(RenderValue, ErrorsNameThePathOfTheFailingString) {
  Value input = json(R"({"args": {"list": ["ok", "{{steps.a.nope}}"]}})");
  ValueScope scope(values());
  auto r = render_value(input, scope);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message.rfind("at \"args.list.1\": unknown reference", 0), 0u)
      << r.error().message;
}

TEST(RenderValue, TemplateTextMatchesMixedRendering) {
  EXPECT_EQ(template_text(Value("raw")), "raw");
  EXPECT_EQ(template_text(json("[1,\"a\"]")), "[1,\"a\"]");
  EXPECT_EQ(template_text(Value()), "null");
}

}  // namespace
}  // namespace pl::pipeline
