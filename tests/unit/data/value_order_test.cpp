#include "worker/data/value_order.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace pl::worker::data {
namespace {

using testing::json;

TEST(ValueOrder, KindsOrderNullBoolNumberStringListMap) {
  const Value ordered[] = {Value(),    Value(false), Value(true), Value(-1),
                           Value(2.5), Value("a"),   json("[1]"), json(R"({"a": 1})")};
  for (size_t i = 0; i + 1 < std::size(ordered); ++i) {
    EXPECT_LT(compare_values(ordered[i], ordered[i + 1]), 0) << i;
    EXPECT_GT(compare_values(ordered[i + 1], ordered[i]), 0) << i;
  }
}

TEST(ValueOrder, IntegersAndDecimalsCompareByValue) {
  EXPECT_EQ(compare_values(Value(1), Value(1.0)), 0);
  EXPECT_LT(compare_values(Value(1), Value(1.5)), 0);
  EXPECT_GT(compare_values(Value(2), Value(1.5)), 0);
  EXPECT_LT(compare_values(Value(-2), Value(-1.5)), 0);
}

TEST(ValueOrder, LargeIntegersCompareExactlyWithDecimals) {
  const int64_t two53 = int64_t{1} << 53;
  EXPECT_GT(compare_values(Value(two53 + 1), Value(static_cast<double>(two53))), 0);
  EXPECT_EQ(compare_values(Value(two53), Value(static_cast<double>(two53))), 0);
  EXPECT_LT(compare_values(Value(INT64_MAX), Value(9.3e18)), 0);
  EXPECT_GT(compare_values(Value(INT64_MIN), Value(-9.3e18)), 0);
}

TEST(ValueOrder, NaNSortsAfterNumbersAndEqualsItself) {
  const Value nan(std::numeric_limits<double>::quiet_NaN());
  EXPECT_GT(compare_values(nan, Value(1e300)), 0);
  EXPECT_GT(compare_values(nan, Value(5)), 0);
  EXPECT_EQ(compare_values(nan, nan), 0);
  EXPECT_LT(compare_values(nan, Value("a")), 0);
}

TEST(ValueOrder, ListsCompareElementwiseWithPrefixesFirst) {
  EXPECT_LT(compare_values(json("[1, 2]"), json("[1, 3]")), 0);
  EXPECT_LT(compare_values(json("[1]"), json("[1, 0]")), 0);
  EXPECT_EQ(compare_values(json("[1, \"a\"]"), json("[1.0, \"a\"]")), 0);
}

TEST(ValueOrder, MapsCompareByKeysThenValues) {
  EXPECT_LT(compare_values(json(R"({"a": 1})"), json(R"({"b": 0})")), 0);
  EXPECT_LT(compare_values(json(R"({"a": 1})"), json(R"({"a": 2})")), 0);
  EXPECT_LT(compare_values(json(R"({"a": 1})"), json(R"({"a": 1, "b": 1})")), 0);
  EXPECT_EQ(compare_values(json(R"({"a": [1]})"), json(R"({"a": [1]})")), 0);
}

TEST(ValueOrder, KeyTextOfScalars) {
  EXPECT_EQ(*key_text(Value("x")), "x");
  EXPECT_EQ(*key_text(Value(12)), "12");
  EXPECT_EQ(*key_text(Value(true)), "true");
  EXPECT_EQ(*key_text(Value()), "null");
  EXPECT_EQ(*key_text(Value(1.5)), "1.5");
  // One number, one key: 1.0 groups and joins with 1.
  EXPECT_EQ(*key_text(Value(1.0)), "1");
  EXPECT_EQ(*key_text(Value(-0.0)), "0");
  EXPECT_EQ(*key_text(Value(-3.0)), "-3");
  EXPECT_EQ(*key_text(Value(1e300)), to_json(Value(1e300)));
  EXPECT_FALSE(key_text(json("[1]")).ok());
  EXPECT_FALSE(key_text(json("{}")).ok());
}

TEST(ValueOrder, KindPhrasesReadAsEnglish) {
  EXPECT_EQ(kind_phrase(Value(1)), "an integer");
  EXPECT_EQ(kind_phrase(Value(1.5)), "a number");
  EXPECT_EQ(kind_phrase(json("[]")), "a list");
  EXPECT_EQ(kind_phrase(json("{}")), "a map");
  EXPECT_EQ(kind_phrase(Value()), "null");
}

}  // namespace
}  // namespace pl::worker::data
