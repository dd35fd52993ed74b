#include "common/value.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
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

}  // namespace
}  // namespace pl
