#include "worker/llm/schema_check.h"

#include <gtest/gtest.h>

#include "common/json.h"

namespace pl::worker::llm {
namespace {

const Value& schema() {
  static const Value s = *parse_json(R"({
    "type": "object", "required": ["endpoints"], "additionalProperties": false,
    "properties": {
      "endpoints": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["method", "path"],
        "properties": {"method": {"type": "string", "enum": ["GET", "POST"]},
                       "path": {"type": "string"}, "weight": {"type": "integer"}}}},
      "note": {"type": ["string", "null"]}}})");
  return s;
}

std::string problem(const char* json) {
  auto st = check_against_schema(*parse_json(json), schema());
  return st.ok() ? "" : st.error().message;
}

TEST(SchemaCheck, AMatchingValuePasses) {
  EXPECT_EQ(problem(R"({"endpoints": [{"method": "GET", "path": "/a", "weight": 2.0}], "note": null})"), "");
}

TEST(SchemaCheck, ProblemsNameTheirPath) {
  EXPECT_EQ(problem(R"({})"), "$: missing required key \"endpoints\"");
  EXPECT_EQ(problem(R"({"endpoints": []})"), "$.endpoints: expected at least 1 items, got 0");
  EXPECT_EQ(problem(R"({"endpoints": [{"method": "PATCH", "path": "/"}]})"),
            "$.endpoints[0].method: expected one of \"GET\", \"POST\"");
  EXPECT_EQ(problem(R"({"endpoints": [{"method": "GET", "path": 3}]})"),
            "$.endpoints[0].path: expected string, got an integer");
  EXPECT_EQ(problem(R"({"endpoints": [{"method": "GET", "path": "/", "weight": 1.5}]})"),
            "$.endpoints[0].weight: expected integer, got a number");
  EXPECT_EQ(problem(R"({"endpoints": [{"method": "GET", "path": "/"}], "extra": 1})"),
            "$: unexpected key \"extra\"");
  EXPECT_EQ(problem(R"({"endpoints": [{"method": "GET", "path": "/"}], "note": 5})"),
            "$.note: expected string or null, got an integer");
}

TEST(SchemaCheck, ProblemsFailTheStep) {
  EXPECT_EQ(check_against_schema(Value(1), schema()).error().code, ErrorCode::kStepFailed);
}

TEST(SchemaCheck, UnknownKeywordsConstrainNothing) {
  EXPECT_TRUE(check_against_schema(Value("x"), *parse_json(R"({"pattern": "^y$", "format": "email"})")).ok());
}

}  // namespace
}  // namespace pl::worker::llm
