#include "common/pipeline/condition.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace pl::pipeline {
namespace {

using testing::json;

const Value& values() {
  static const Value kValues = json(R"({
    "inputs": {"mode": "prod", "zero": 0, "blank": "", "none": null, "list": [], "map": {}},
    "steps": {"test": {"passed": true, "score": 85, "errors": 0},
              "lint": {"has_errors": false}}
  })");
  return kValues;
}

bool holds(const Value& condition) {
  ValueScope scope(values());
  auto r = evaluate_condition(condition, scope);
  EXPECT_TRUE(r.ok()) << to_json(condition) << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() && *r;
}

Error fails(const Value& condition) {
  ValueScope scope(values());
  auto r = evaluate_condition(condition, scope);
  EXPECT_FALSE(r.ok()) << to_json(condition);
  return r.ok() ? Error{} : r.error();
}

TEST(Condition, NoConditionHolds) { EXPECT_TRUE(holds(Value())); }

TEST(Condition, ABoolIsItself) {
  EXPECT_TRUE(holds(Value(true)));
  EXPECT_FALSE(holds(Value(false)));
}

TEST(Condition, ABareExpressionIsEvaluated) {
  EXPECT_TRUE(holds(Value("steps.test.score > 80")));
  EXPECT_FALSE(holds(Value("steps.test.score > 90")));
  EXPECT_TRUE(holds(Value("inputs.mode == 'prod' and steps.test.passed")));
}

TEST(Condition, ASingleTemplateIsEvaluated) {
  EXPECT_TRUE(holds(Value("{{steps.test.passed}}")));
  EXPECT_FALSE(holds(Value("{{ steps.lint.has_errors }}")));
  EXPECT_TRUE(holds(Value("  {{steps.test.score >= 85}}\n")));
}

TEST(Condition, ABareReferenceIsTruthyUnlessEmptyOrFalse) {
  EXPECT_TRUE(holds(Value("inputs.zero")));
  EXPECT_TRUE(holds(Value("steps.test.errors")));
  EXPECT_TRUE(holds(Value("inputs.mode")));
  EXPECT_FALSE(holds(Value("inputs.blank")));
  EXPECT_FALSE(holds(Value("inputs.none")));
  EXPECT_FALSE(holds(Value("inputs.list")));
  EXPECT_FALSE(holds(Value("inputs.map")));
  EXPECT_FALSE(holds(Value("steps.lint.has_errors")));
}

TEST(Condition, AndOrNotMapsCombineConditions) {
  EXPECT_TRUE(holds(json(R"({"and": ["steps.test.passed", "steps.test.score > 80"]})")));
  EXPECT_FALSE(holds(json(R"({"and": ["steps.test.passed", "steps.test.score > 90"]})")));
  EXPECT_TRUE(holds(json(R"({"or": ["steps.test.score > 90", "{{inputs.mode == 'prod'}}"]})")));
  EXPECT_FALSE(holds(json(R"({"or": []})")));
  EXPECT_TRUE(holds(json(R"({"and": []})")));
  EXPECT_TRUE(holds(json(R"({"not": "steps.lint.has_errors"})")));
  EXPECT_TRUE(holds(json(R"({"and": ["steps.test.passed",
                                      {"or": ["inputs.blank", {"not": "inputs.none"}]},
                                      {"not": {"and": [true, false]}}]})")));
}

TEST(Condition, AListMeansAllOfIt) {
  EXPECT_TRUE(holds(json(R"(["steps.test.passed", "inputs.mode"])")));
  EXPECT_FALSE(holds(json(R"(["steps.test.passed", "inputs.blank"])")));
  EXPECT_TRUE(holds(Value::array()));
}

TEST(Condition, EvaluationShortCircuits) {
  EXPECT_FALSE(holds(json(R"({"and": [false, "steps.nope.x"]})")));
  EXPECT_TRUE(holds(json(R"({"or": [true, "steps.nope.x"]})")));
  EXPECT_FALSE(holds(json(R"([false, "steps.nope.x"])")));
}

TEST(Condition, AnUnknownReferenceIsAnError) {
  Error e = fails(Value("steps.nope.ok"));
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_NE(e.message.find("\"steps.nope.ok\""), std::string::npos);
}

TEST(Condition, TextMixedWithTemplatesIsRefused) {
  Error e = fails(Value("{{steps.test.score}} > 80"));
  EXPECT_NE(e.message.find("not text with templates"), std::string::npos) << e.message;
}

TEST(Condition, BadShapesAreErrors) {
  EXPECT_NE(fails(json(R"({"anf": []})")).message.find("(did you mean \"and\"?)"),
            std::string::npos);
  EXPECT_NE(fails(json(R"({"and": [], "or": []})")).message.find("exactly one key"),
            std::string::npos);
  EXPECT_NE(fails(json(R"({"and": "x"})")).message.find("takes a list"), std::string::npos);
}

TEST(Condition, DeepNestingIsRefusedNotACrash) {
  Value c(true);
  for (int i = 0; i < 200; ++i) {
    Value wrapper = Value::object();
    wrapper["not"] = std::move(c);
    c = std::move(wrapper);
  }
  EXPECT_NE(fails(c).message.find("nests deeper"), std::string::npos);
  EXPECT_FALSE(parse_condition(c).ok());
}

TEST(Condition, ParseConditionListsEveryExpressionWithoutEvaluating) {
  auto parsed = parse_condition(json(R"({"and": ["steps.a.x > 1", {"not": "{{steps.b.y}}"}]})"));
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[1].text(), "steps.b.y");
  EXPECT_FALSE(parse_condition(Value("a >")).ok());
}

TEST(Condition, ParseConditionStringTakesTheInsideOfASingleTemplate) {
  auto e = parse_condition_string("{{ a.b }}");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->text(), " a.b ");
}

}  // namespace
}  // namespace pl::pipeline
