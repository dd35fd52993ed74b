#include "common/value.h"

#include <gtest/gtest.h>

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


TEST(ValueObject, MembersStaySortedWhateverTheOrderOfInsertion) {
  Value v;
  for (const char* key : {"m", "b", "z", "a", "k"}) v[key] = key;
  std::string keys;
  for (const auto& [key, member] : v.as_object()) keys += key;
  EXPECT_EQ(keys, "abkmz");
  EXPECT_EQ(v.get_string("k"), "k");
  EXPECT_EQ(v.find("c"), nullptr);
}

TEST(ValueObject, EmplaceKeepsAnExistingMemberAndInsertOrAssignReplacesIt) {
  Value::Object o;
  EXPECT_TRUE(o.emplace("a", 1).second);
  EXPECT_FALSE(o.emplace("a", 2).second);
  EXPECT_EQ(o.find("a")->second, Value(1));
  EXPECT_FALSE(o.insert_or_assign("a", 3).second);
  EXPECT_EQ(o.find("a")->second, Value(3));
  EXPECT_EQ(o.size(), 1u);
}

TEST(ValueObject, AListWithARepeatedKeyKeepsTheFirstAsAMapDoes) {
  const Value::Object o{{"b", Value(1)}, {"a", Value(2)}, {"b", Value(3)}};
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o.begin()->first, "a");
  EXPECT_EQ(o.find("b")->second, Value(1));
}

TEST(ValueObject, AHintAtTheEndOutOfOrderStillInsertsInOrder) {
  Value::Object o;
  o.emplace_hint(o.end(), "b", 1);
  o.emplace_hint(o.end(), "a", 2);  // not after "b": searched, not appended
  o.emplace_hint(o.end(), "b", 3);  // present: kept
  o.insert_or_assign(o.end(), std::string("c"), Value(4));
  o.insert_or_assign(o.end(), std::string("a"), Value(5));
  std::string seen;
  for (const auto& [key, member] : o) seen += key + "=" + std::to_string(member.as_int()) + " ";
  EXPECT_EQ(seen, "a=5 b=1 c=4 ");
}

TEST(ValueObject, EraseByKeyAndByPosition) {
  Value v;
  for (const char* key : {"a", "b", "c"}) v[key] = true;
  EXPECT_EQ(v.as_object().erase("b"), 1u);
  EXPECT_EQ(v.as_object().erase("b"), 0u);
  auto next = v.as_object().erase(v.as_object().find("a"));
  ASSERT_NE(next, v.as_object().end());
  EXPECT_EQ(next->first, "c");
  EXPECT_EQ(v.size(), 1u);
}

TEST(ValueObject, EqualityComparesKeysAndMembersInOrder) {
  Value a, b;
  a["x"] = 1;
  a["y"] = "two";
  b["y"] = "two";
  b["x"] = 1;
  EXPECT_EQ(a, b);
  b["x"] = 1.0;
  EXPECT_FALSE(a == b);
  EXPECT_TRUE(values_equal(a, b));
}

}  // namespace
}  // namespace pl
