#include "worker/data/field_path.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace pl::worker::data {
namespace {

using testing::json;

FieldPath path(std::string_view text) {
  auto p = FieldPath::parse(text);
  EXPECT_TRUE(p.ok()) << text;
  return p.ok() ? *p : *FieldPath::parse("unused");
}

TEST(FieldPath, FindsAMember) {
  const Value item = json(R"({"score": 3})");
  ASSERT_NE(path("score").find(item), nullptr);
  EXPECT_EQ(*path("score").find(item), Value(3));
}

TEST(FieldPath, FindsNestedMembersAndListElements) {
  const Value item = json(R"({"user": {"team": "a", "tags": ["x", "y"]}})");
  EXPECT_EQ(*path("user.team").find(item), Value("a"));
  EXPECT_EQ(*path("user.tags.1").find(item), Value("y"));
}

TEST(FieldPath, MissingSegmentsFindNothing) {
  const Value item = json(R"({"user": {"tags": ["x"]}, "n": 1})");
  EXPECT_EQ(path("nope").find(item), nullptr);
  EXPECT_EQ(path("user.nope").find(item), nullptr);
  EXPECT_EQ(path("user.tags.5").find(item), nullptr);
  EXPECT_EQ(path("user.tags.x").find(item), nullptr);
  EXPECT_EQ(path("n.deeper").find(item), nullptr);
  EXPECT_EQ(path("a").find(Value(7)), nullptr);
}

TEST(FieldPath, EmptyPathsAndSegmentsAreRefused) {
  EXPECT_FALSE(FieldPath::parse("").ok());
  EXPECT_FALSE(FieldPath::parse("a..b").ok());
  EXPECT_FALSE(FieldPath::parse(".a").ok());
  EXPECT_FALSE(FieldPath::parse("a.").ok());
  EXPECT_NE(FieldPath::parse("a..b").error().message.find("empty segment"), std::string::npos);
}

TEST(FieldPath, TooManySegmentsAreRefused) {
  std::string text = "a";
  for (size_t i = 0; i < kMaxFieldPathSegments; ++i) text += ".a";
  EXPECT_FALSE(FieldPath::parse(text).ok());
}

TEST(FieldPath, AssignCreatesMissingMaps) {
  Value item = json(R"({"a": 1})");
  ASSERT_TRUE(path("b.c").assign(item, Value(2)).ok());
  EXPECT_EQ(item, json(R"({"a": 1, "b": {"c": 2}})"));
}

TEST(FieldPath, AssignReplacesAnExistingValue) {
  Value item = json(R"({"a": {"b": [1, 2]}})");
  ASSERT_TRUE(path("a.b.1").assign(item, Value("x")).ok());
  EXPECT_EQ(item, json(R"({"a": {"b": [1, "x"]}})"));
}

TEST(FieldPath, AssignThroughAScalarIsAnErrorNamingIt) {
  Value item = json(R"({"user": "bob"})");
  Status s = path("user.name").assign(item, Value(1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "\"user\" is a string, not a map");
  Value scalar(5);
  EXPECT_EQ(path("x").assign(scalar, Value(1)).error().message,
            "the item is an integer, not a map");
}

TEST(FieldPath, AssignNeverGrowsAList) {
  Value item = json(R"({"l": [1]})");
  EXPECT_FALSE(path("l.3").assign(item, Value(1)).ok());
  EXPECT_EQ(item, json(R"({"l": [1]})"));
}

}  // namespace
}  // namespace pl::worker::data
