#include "common/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace pl {
namespace {

TEST(Value, DefaultIsNull) {
  Value v;
  EXPECT_TRUE(v.is_null());
  EXPECT_EQ(v.size(), 0u);
}

TEST(Value, IndexingNullMakesAnObject) {
  Value v;
  v["a"] = 1;
  v["b"]["c"] = "x";
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.find("a")->as_int(), 1);
  EXPECT_EQ(v.find("b")->find("c")->as_string(), "x");
  EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(Value, IntegerAndDoubleAreDistinctKinds) {
  EXPECT_NE(Value(3), Value(3.0));
  EXPECT_EQ(Value(3).as_double(), 3.0);
}

TEST(Value, StringLiteralIsAStringNotABool) {
  Value v("text");
  EXPECT_TRUE(v.is_string());
}

TEST(Value, TruthinessFollowsThePipelineFormat) {
  EXPECT_FALSE(Value().truthy());
  EXPECT_FALSE(Value(false).truthy());
  EXPECT_FALSE(Value("").truthy());
  EXPECT_FALSE(Value::array().truthy());
  EXPECT_FALSE(Value::object().truthy());
  EXPECT_TRUE(Value(0).truthy());
  EXPECT_TRUE(Value("x").truthy());
  EXPECT_TRUE(Value(Value::Array{Value()}).truthy());
}

TEST(Value, TypedGettersFallBackOnMissingOrWrongKind) {
  Value v;
  v["n"] = 5;
  v["s"] = "str";
  EXPECT_EQ(v.get_int("n"), 5);
  EXPECT_EQ(v.get_int("s", -1), -1);
  EXPECT_EQ(v.get_string("s"), "str");
  EXPECT_EQ(v.get_string("n", "dflt"), "dflt");
  EXPECT_TRUE(v.get_bool("missing", true));
}

}  // namespace
}  // namespace pl

namespace pl {
namespace {

TEST(Value, ObjectKeysAreInStdStringOrderIncludingPrefixesAndHighBytes) {
  // KeyLess compares inline; the order must stay std::string's, which JSON output and stored
  // records follow.
  const std::vector<std::string> keys{"",   "a",     "ab",       "abc", "b",    "B",
                                      "é",  "\xff",  "a\xff",    "a b", "a\x01", "error",
                                      "error_code", "errors", "success", "s"};
  Value object = Value::object();
  for (const auto& key : keys) object[key] = key;
  std::set<std::string> expected(keys.begin(), keys.end());
  std::vector<std::string> seen;
  for (const auto& [key, value] : object.as_object()) seen.push_back(key);
  EXPECT_EQ(seen, std::vector<std::string>(expected.begin(), expected.end()));
  for (const auto& key : keys) {
    ASSERT_NE(object.find(key), nullptr) << key;
    EXPECT_EQ(object.find(key)->as_string(), key);
  }
  EXPECT_EQ(object.find("abcd"), nullptr);
}

// Value keeps its kinds in a union of its own: every copy, move and assignment between any two
// kinds must leave the target holding exactly what the source held.
std::vector<Value> one_of_each_kind() {
  Value object;
  object["k"] = "v";
  object["n"] = Value::array();
  object["n"].push_back(1.5);
  return {Value(),        Value(true),
          Value(false),   Value(-7),
          Value(2.5),     Value(std::string(40, 's')),
          Value("short"), Value(std::vector<Value>{Value(1), Value("x")}),
          object};
}

TEST(Value, CopiesAndMovesBetweenEveryPairOfKindsKeepTheSource) {
  for (const Value& from : one_of_each_kind()) {
    for (const Value& to : one_of_each_kind()) {
      Value copied = to;
      copied = from;
      EXPECT_EQ(copied, from);
      EXPECT_EQ(copied.kind(), from.kind());
      Value moved = to;
      Value source = from;
      moved = std::move(source);
      EXPECT_EQ(moved, from);
      Value constructed(std::move(moved));
      EXPECT_EQ(constructed, from);
    }
    Value self = from;
    const Value& alias = self;
    self = alias;
    EXPECT_EQ(self, from);
  }
}

TEST(Value, AMemberAssignedToItsOwnParentIsTakenBeforeTheParentIsFreed) {
  for (const Value& member : one_of_each_kind()) {
    Value parent;
    parent["child"] = member;
    parent["other"] = std::string(64, 'o');
    parent = parent.as_object().at("child");  // a copy from inside
    EXPECT_EQ(parent, member);

    Value list = Value::array();
    list.push_back(member);
    list.push_back(std::string(64, 'o'));
    list = std::move(list.as_array()[0]);  // a move from inside
    EXPECT_EQ(list, member);
  }
}

TEST(Value, TheWrongAccessorThrowsRatherThanReadingAnotherKind) {
  EXPECT_THROW((void)Value(1).as_string(), std::bad_variant_access);
  EXPECT_THROW((void)Value("x").as_int(), std::bad_variant_access);
  EXPECT_THROW((void)Value().as_object(), std::bad_variant_access);
  EXPECT_DOUBLE_EQ(Value(3).as_double(), 3.0);
  EXPECT_THROW((void)Value(true).as_double(), std::bad_variant_access);
}

TEST(Value, EqualityTellsKindsAndNaNApart) {
  EXPECT_NE(Value(3), Value(3.0));
  EXPECT_NE(Value(), Value(false));
  EXPECT_NE(Value(std::nan("")), Value(std::nan("")));
  EXPECT_EQ(Value(Value::Array{}), Value::array());
  EXPECT_NE(Value::array(), Value::object());
}

}  // namespace
}  // namespace pl
