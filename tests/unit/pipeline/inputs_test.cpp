#include "common/pipeline/inputs.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace pl::pipeline {
namespace {

using testing::all_messages;
using testing::json;
using testing::load;

Pipeline typed_inputs() {
  auto r = load(R"(workflow:
  name: i
  inputs:
    topic: {type: string, required: true}
    count: {type: integer, default: 3}
    ratio: {type: number}
    verbose: {type: bool, default: false}
    tags: {type: list}
    options: {type: map}
    mode: {type: string, enum: [fast, slow]}
    anything:
  steps: [{name: a, type: echo}]
)");
  EXPECT_TRUE(r.ok()) << all_messages(r.diagnostics);
  return r.ok() ? *r.pipeline : Pipeline();
}

TEST(BindInputs, DefaultsAreFilledAndOptionalInputsWithoutOneAreLeftOut) {
  auto bound = bind_inputs(typed_inputs(), json(R"({"topic": "cats"})"));
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  EXPECT_EQ(*bound, json(R"({"topic": "cats", "count": 3, "verbose": false})"));
}

TEST(BindInputs, CommandLineStringsAreConvertedToTheDeclaredType) {
  auto bound = bind_inputs(typed_inputs(), json(R"({
    "topic": "cats", "count": "42", "ratio": "0.75", "verbose": "yes",
    "tags": "[\"a\", \"b\"]", "options": "{\"k\": 1}", "mode": "slow", "anything": "7"
  })"));
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  EXPECT_EQ(*bound, json(R"({
    "topic": "cats", "count": 42, "ratio": 0.75, "verbose": true,
    "tags": ["a", "b"], "options": {"k": 1}, "mode": "slow", "anything": "7"
  })"));
}

TEST(BindInputs, BoolWordsAreAcceptedInAnyCase) {
  for (const char* word : {"true", "TRUE", "yes", "on", "1"}) {
    auto bound = bind_inputs(typed_inputs(),
                             json(std::string(R"({"topic": "t", "verbose": ")") + word + "\"}"));
    ASSERT_TRUE(bound.ok()) << word;
    EXPECT_EQ(*bound->find("verbose"), Value(true)) << word;
  }
  for (const char* word : {"false", "No", "off", "0"}) {
    auto bound = bind_inputs(typed_inputs(),
                             json(std::string(R"({"topic": "t", "verbose": ")") + word + "\"}"));
    ASSERT_TRUE(bound.ok()) << word;
    EXPECT_EQ(*bound->find("verbose"), Value(false)) << word;
  }
}

TEST(BindInputs, ValuesAlreadyOfTheTypePassAndIntegersAreNumbers) {
  auto bound = bind_inputs(typed_inputs(), json(R"({"topic": "t", "count": 5, "ratio": 2,
                                                    "tags": [1], "options": {}})"));
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  EXPECT_EQ(*bound->find("ratio"), Value(2));
  EXPECT_EQ(*bound->find("count"), Value(5));
}

TEST(BindInputs, CommandLineStringsForAnInputWithoutTypeTakeTheTypeOfItsDefault) {
  auto r = load(R"(workflow:
  name: i
  inputs:
    deploy: {default: true}
    count: {default: 3}
    ratio: {default: 0.5}
    tags: {default: []}
    options: {default: {}}
    topic: {default: cats}
    anything: {type: any, default: false}
  steps: [{name: a, type: echo}]
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  // `--input deploy=false` must be false: the text "false" would be truthy in a condition.
  auto bound = bind_inputs(*r.pipeline, json(R"({
    "deploy": "false", "count": "42", "ratio": "0.75", "tags": "[\"a\"]",
    "options": "{\"k\": 1}", "topic": "7", "anything": "false"
  })"));
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  EXPECT_EQ(*bound, json(R"({
    "deploy": false, "count": 42, "ratio": 0.75, "tags": ["a"], "options": {"k": 1},
    "topic": "7", "anything": "false"
  })"));
  auto wrong = bind_inputs(*r.pipeline, json(R"({"count": "4.5"})"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message, "input \"count\" must be an integer, got string \"4.5\"");
}

TEST(BindInputs, AMissingRequiredInputIsAnErrorNamingIt) {
  auto bound = bind_inputs(typed_inputs(), Value());
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(bound.error().message, "missing required input \"topic\"");
}

TEST(BindInputs, ValuesThatDoNotConvertAreErrorsNamingTheInput) {
  auto bound = bind_inputs(typed_inputs(), json(R"({"topic": "t", "count": "many"})"));
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error().message, "input \"count\" must be an integer, got string \"many\"");
  EXPECT_FALSE(bind_inputs(typed_inputs(), json(R"({"topic": "t", "count": "4.5"})")).ok());
  EXPECT_FALSE(bind_inputs(typed_inputs(), json(R"({"topic": "t", "ratio": "1/2"})")).ok());
  EXPECT_FALSE(bind_inputs(typed_inputs(), json(R"({"topic": "t", "verbose": "maybe"})")).ok());
  EXPECT_FALSE(bind_inputs(typed_inputs(), json(R"({"topic": "t", "tags": "{\"a\": 1}"})")).ok());
  EXPECT_FALSE(bind_inputs(typed_inputs(), json(R"({"topic": "t", "options": "[1]"})")).ok());
  auto typed = bind_inputs(typed_inputs(), json(R"({"topic": 5})"));
  ASSERT_FALSE(typed.ok());
  EXPECT_EQ(typed.error().message, "input \"topic\" must be a string, got integer 5");
}

TEST(BindInputs, ValuesOutsideTheEnumAreErrors) {
  auto bound = bind_inputs(typed_inputs(), json(R"({"topic": "t", "mode": "medium"})"));
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error().message,
            "input \"mode\" must be one of \"fast\", \"slow\"; got \"medium\"");
}

TEST(BindInputs, UndeclaredInputsAreErrorsWhenThePipelineDeclaresInputs) {
  auto bound = bind_inputs(typed_inputs(), json(R"({"topic": "t", "cuont": 1})"));
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.error().message.find("unknown input \"cuont\" (did you mean \"count\"?)"),
            std::string::npos)
      << bound.error().message;
}

TEST(BindInputs, EveryProblemIsReportedTogether) {
  auto bound = bind_inputs(typed_inputs(), json(R"({"count": "x", "zzz": 1})"));
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.error().message.find("missing required input \"topic\""), std::string::npos);
  EXPECT_NE(bound.error().message.find("input \"count\" must be an integer"), std::string::npos);
  EXPECT_NE(bound.error().message.find("unknown input \"zzz\""), std::string::npos);
}

TEST(BindInputs, WithoutDeclaredInputsGivenValuesPassThrough) {
  auto r = load("workflow:\n  name: x\n  steps: [{name: a, type: echo}]\n");
  ASSERT_TRUE(r.ok());
  auto bound = bind_inputs(*r.pipeline, json(R"({"free": "form", "n": 1})"));
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ(*bound, json(R"({"free": "form", "n": 1})"));
}

TEST(BindInputs, GivenMustBeAMap) {
  auto bound = bind_inputs(typed_inputs(), json("[1]"));
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.error().message.find("must be a map"), std::string::npos);
}

TEST(InputTypes, CanonicalNamesAndAliases) {
  EXPECT_EQ(canonical_input_type("boolean"), "bool");
  EXPECT_EQ(canonical_input_type("array"), "list");
  EXPECT_EQ(canonical_input_type("object"), "map");
  EXPECT_EQ(canonical_input_type("any"), "");
  EXPECT_EQ(canonical_input_type("number"), "number");
  EXPECT_EQ(canonical_input_type("float"), std::nullopt);
  EXPECT_TRUE(has_input_type(Value(1), "number"));
  EXPECT_FALSE(has_input_type(Value(1.5), "integer"));
  EXPECT_TRUE(has_input_type(Value("x"), ""));
}

}  // namespace
}  // namespace pl::pipeline
