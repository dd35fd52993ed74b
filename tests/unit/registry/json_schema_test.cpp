// The JSON Schema subset: schema checks and instance validation, with messages naming paths.
#include "common/registry/json_schema.h"

#include <gtest/gtest.h>

#include "common/json.h"

namespace pl {
namespace {

Value json(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Value();
}

std::string problems(std::string_view schema, std::string_view instance) {
  auto st = validate_against_schema(json(schema), json(instance));
  return st.ok() ? "" : st.error().message;
}

constexpr std::string_view kFileSchema = R"({
  "type": "object",
  "properties": {
    "path": {"type": "string", "minLength": 1, "maxLength": 8, "pattern": "^[a-z/.]+$"},
    "mode": {"enum": ["read", "write"]},
    "count": {"type": "integer", "minimum": 1, "maximum": 10},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
    "opts": {"type": "object", "properties": {"deep": {"type": "boolean"}}, "required": ["deep"]}
  },
  "required": ["path"],
  "additionalProperties": false
})";

TEST(JsonSchema, AValidInstancePasses) {
  EXPECT_EQ(problems(kFileSchema, R"({"path": "a/b.txt", "mode": "read", "count": 3.0,
                                      "tags": ["x"], "opts": {"deep": true}})"),
            "");
}

TEST(JsonSchema, AWrongKindNamesThePathAndBothKinds) {
  EXPECT_EQ(problems(kFileSchema, R"({"path": 3})"), "args.path: expected a string, got a number");
  EXPECT_EQ(problems(kFileSchema, R"({"path": "a", "opts": {"deep": "yes"}})"),
            "args.opts.deep: expected a boolean, got a string");
  EXPECT_EQ(problems(kFileSchema, R"({"path": "a", "tags": ["ok", 1]})"),
            "args.tags[1]: expected a string, got a number");
  EXPECT_EQ(problems(kFileSchema, R"({"path": "a", "count": 2.5})"),
            "args.count: expected an integer, got a number with a fraction (2.5)");
}

TEST(JsonSchema, MissingAndUnknownPropertiesAreNamed) {
  EXPECT_EQ(problems(kFileSchema, R"({})"), "args: missing required property \"path\"");
  EXPECT_EQ(problems(kFileSchema, R"({"path": "a", "mod": "read"})"),
            "args: unknown property \"mod\" (did you mean \"mode\"?)");
}

TEST(JsonSchema, BoundsEnumsAndPatternsAreChecked) {
  EXPECT_EQ(problems(kFileSchema, R"({"path": "a", "count": 11})"),
            "args.count: 11 is greater than the maximum 10");
  EXPECT_EQ(problems(kFileSchema, R"({"path": "a", "mode": "delete"})"),
            "args.mode: \"delete\" is not one of [\"read\",\"write\"]");
  EXPECT_EQ(problems(kFileSchema, R"({"path": "ABC"})"),
            "args.path: \"ABC\" does not match the pattern \"^[a-z/.]+$\"");
  EXPECT_EQ(problems(kFileSchema, R"({"path": "abcdefghij"})"),
            "args.path: is 10 characters long, longer than the maxLength 8");
  EXPECT_EQ(problems(kFileSchema, R"({"path": "a", "tags": ["a", "b", "c"]})"),
            "args.tags: has 3 items, more than the maxItems 2");
}

TEST(JsonSchema, SeveralProblemsAreReportedTogether) {
  const std::string all = problems(kFileSchema, R"({"mode": 1, "count": 0})");
  EXPECT_NE(all.find("missing required property \"path\""), std::string::npos) << all;
  EXPECT_NE(all.find("args.count: 0 is less than the minimum 1"), std::string::npos) << all;
  EXPECT_NE(all.find("args.mode"), std::string::npos) << all;
}

TEST(JsonSchema, LengthsCountCharactersNotBytes) {
  EXPECT_EQ(problems(R"({"type": "string", "maxLength": 2})", R"("éé")"), "");
}

TEST(JsonSchema, UnionTypesAcceptAnyOfTheirKinds) {
  EXPECT_EQ(problems(R"({"type": ["string", "null"]})", "null"), "");
  EXPECT_EQ(problems(R"({"type": ["string", "null"]})", "1"), "args: expected a string or null, got a number");
}

TEST(JsonSchema, FormatsAreCheckedByTheCallersCheck) {
  FormatCheck no_dots = [](std::string_view format, const std::string& v) -> std::optional<std::string> {
    if (format == "no_dots" && v.find("..") != std::string::npos) return "climbs out";
    return std::nullopt;
  };
  const Value schema = json(R"({"type": "object", "properties": {"p": {"type": "string", "format": "no_dots"}}})");
  auto st = validate_against_schema(schema, json(R"({"p": "../etc"})"), "args", no_dots);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "args.p: climbs out");
  EXPECT_TRUE(validate_against_schema(schema, json(R"({"p": "../etc"})")).ok());  // no check given
}

TEST(JsonSchema, AFormatTheCallerDoesNotCheckIsRefused) {
  const Value schema = json(R"({"type": "object", "properties": {"p": {"type": "string",
                                                                      "format": "workspace-path"}}})");
  auto st = check_schema(schema, "input_schema", {"workspace_path"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "input_schema.properties.p.format: \"workspace-path\" is not a format that is checked "
            "here (workspace_path) (did you mean \"workspace_path\"?)");
  EXPECT_TRUE(check_schema(json(R"({"type": "string", "format": "workspace_path"})"), "s",
                           {"workspace_path"}).ok());
  EXPECT_FALSE(check_schema(json(R"({"type": "string", "format": "email"})")).ok());
}

TEST(JsonSchema, UnsupportedKeywordsAndMalformedSchemasAreRefused) {
  auto one_of = check_schema(json(R"({"type": "object", "properties": {"x": {"oneOf": []}}})"));
  ASSERT_FALSE(one_of.ok());
  EXPECT_EQ(one_of.error().message, "input_schema.properties.x: unsupported keyword \"oneOf\"");
  auto typo = check_schema(json(R"({"type": "object", "requird": ["x"]})"));
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("did you mean \"required\""), std::string::npos);
  EXPECT_FALSE(check_schema(json(R"({"type": "text"})")).ok());
  EXPECT_FALSE(check_schema(json(R"({"minimum": "1"})")).ok());
  EXPECT_FALSE(check_schema(json(R"({"pattern": "(unclosed"})")).ok());
  EXPECT_TRUE(check_schema(json(kFileSchema)).ok());
}

TEST(JsonSchema, DefaultsFillOnlyWhatIsAbsent) {
  const Value schema = json(R"({"type": "object", "properties": {
      "dir": {"type": "string", "default": "."},
      "deep": {"type": "object", "default": {}, "properties": {"n": {"default": 3}}}}})");
  EXPECT_EQ(apply_schema_defaults(schema, json(R"({"dir": "x"})")),
            json(R"({"dir": "x", "deep": {"n": 3}})"));
}

TEST(JsonSchema, DefaultsFillObjectsInsideArraysAndAdditionalProperties) {
  const Value schema = json(R"({"type": "object", "properties": {
      "files": {"type": "array", "items": {"type": "object",
                "properties": {"mode": {"type": "string", "default": "r"}}}}},
      "additionalProperties": {"type": "object", "properties": {"n": {"default": 1}}}})");
  EXPECT_EQ(apply_schema_defaults(schema, json(R"({"files": [{}, {"mode": "w"}], "extra": {}})")),
            json(R"({"files": [{"mode": "r"}, {"mode": "w"}], "extra": {"n": 1}})"));
}

TEST(JsonSchema, NormalizingWritesWholeNumbersOfIntegerPropertiesAsIntegers) {
  const Value schema = json(R"({"type": "object", "properties": {
      "n": {"type": "integer"}, "maybe": {"type": ["integer", "null"]}, "x": {"type": "number"},
      "list": {"type": "array", "items": {"type": "integer"}},
      "deep": {"type": "object", "additionalProperties": {"type": "integer"}}}})");
  const auto normal = normalize_to_schema(
      schema, json(R"({"n": 3.0, "maybe": -2.0, "x": 3.0, "list": [1.0, 2], "deep": {"k": 4.0},
                      "big": 1e300})"), "args");
  ASSERT_TRUE(normal.ok()) << normal.error().message;
  EXPECT_EQ(*normal, json(R"({"n": 3, "maybe": -2, "x": 3.0, "list": [1, 2], "deep": {"k": 4},
                              "big": 1e300})"));
  EXPECT_TRUE(normal->find("n")->is_int());
  EXPECT_TRUE(normal->find("x")->is_double());  // a number stays as given
}

TEST(JsonSchema, AWholeNumberOutsideInt64WhereAnIntegerIsMeantIsAnErrorNamingItsPlace) {
  const Value schema = json(R"({"type": "object", "properties": {
      "n": {"type": "integer"}, "list": {"type": "array", "items": {"type": "integer"}}}})");
  auto big = normalize_to_schema(schema, json(R"({"n": 1e30})"), "args");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(big.error().message, "args.n: 1e+30 is outside the 64-bit range of an integer");
  auto deep = normalize_to_schema(schema, json(R"({"list": [1, -1e19]})"), "args");
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message.find("args.list[1]: "), std::string::npos) << deep.error().message;
  // The largest double below 2^63 still has an integer spelling.
  auto edge = normalize_to_schema(schema, json(R"({"n": 9223372036854774784.0})"), "args");
  ASSERT_TRUE(edge.ok());
  EXPECT_EQ(edge->find("n")->as_int(), 9223372036854774784);
}

TEST(JsonSchema, NormalizingSpellsEnumAndConstMatchesAsTheSchemaDoes) {
  const Value schema = json(R"({"type": "object", "properties": {
      "level": {"enum": [1, 2, "three"]}, "ratio": {"enum": [0.5, 2.0]}, "one": {"const": 1}}})");
  const auto normal =
      normalize_to_schema(schema, json(R"({"level": 2.0, "ratio": 2, "one": 1.0})"), "args");
  ASSERT_TRUE(normal.ok());
  EXPECT_TRUE(normal->find("level")->is_int());
  EXPECT_TRUE(normal->find("ratio")->is_double());
  EXPECT_TRUE(normal->find("one")->is_int());
}

}  // namespace
}  // namespace pl
