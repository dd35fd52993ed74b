#include "worker/data/transform.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace pl::worker::data {
namespace {

using testing::json;

Result<Value> transform(std::string_view input, std::string_view operations,
                        const TransformLimits& limits = {}, const StopCheck& stop = {}) {
  auto ops = parse_operations(json(operations), limits);
  if (!ops.ok()) return ops.error();
  return apply_operations(json(input), *ops, limits, stop);
}

Value ok(std::string_view input, std::string_view operations) {
  auto r = transform(input, operations);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Value("<failed>");
}

Error fails(std::string_view input, std::string_view operations,
            const TransformLimits& limits = {}) {
  auto r = transform(input, operations, limits);
  EXPECT_FALSE(r.ok()) << "unexpected success: " << (r.ok() ? to_json(*r) : "");
  return r.ok() ? Error{} : r.error();
}

const char* kPeople = R"([
  {"name": "ann", "team": "red",  "score": 90},
  {"name": "bob", "team": "blue", "score": 70},
  {"name": "cat", "team": "red",  "score": 85},
  {"name": "dan", "team": "blue", "score": 70}
])";

// ---- filter ----

TEST(Filter, KeepsTheItemsWhoseConditionHolds) {
  EXPECT_EQ(ok(kPeople, R"([{"operation": "filter", "condition": "score >= 85"}])"),
            json(R"([{"name": "ann", "team": "red", "score": 90},
                     {"name": "cat", "team": "red", "score": 85}])"));
}

TEST(Filter, ConditionSeesTheItemAsItemAndItsMembersByName) {
  EXPECT_EQ(ok(kPeople, R"([{"operation": "filter",
                             "condition": "item.team == 'blue' and name != 'bob'"}])"),
            json(R"([{"name": "dan", "team": "blue", "score": 70}])"));
}

TEST(Filter, ConditionMayBeWrittenAsOneTemplate) {
  EXPECT_EQ(ok("[1, 5, 9]", R"([{"operation": "filter", "condition": "{{ item > 4 }}"}])"),
            json("[5, 9]"));
}

TEST(Filter, ConditionIsTruthinessOfTheExpression) {
  EXPECT_EQ(ok(R"([{"t": [1]}, {"t": []}, {"t": ""}, {"t": 0}, {"t": null}])",
               R"([{"operation": "filter", "condition": "t"}])"),
            json(R"([{"t": [1]}, {"t": 0}])"));
}

TEST(Filter, FieldBindsValueForTheCondition) {
  EXPECT_EQ(ok(R"([{"s": {"v": 1}}, {"s": {"v": 7}}])",
               R"([{"operation": "filter", "field": "s.v", "condition": "value > 3"}])"),
            json(R"([{"s": {"v": 7}}])"));
}

TEST(Filter, AnItemMemberNamedValueWinsOverTheFieldBinding) {
  EXPECT_EQ(ok(R"([{"value": 1, "x": 9}])",
               R"([{"operation": "filter", "field": "x", "condition": "value > 3"}])"),
            json("[]"));
}

TEST(Filter, FieldMissingInAnItemIsAnErrorNamingIt) {
  Error e = fails(R"([{"x": 1}, {"y": 2}])",
                  R"([{"operation": "filter", "field": "x", "condition": "value"}])");
  EXPECT_EQ(e.message, "operation 0 (filter): field \"x\" is missing in item 1");
  EXPECT_EQ(e.code, ErrorCode::kInvalidInput);
}

TEST(Filter, AnUnknownReferenceNamesTheOperationAndTheItem) {
  Error e = fails(R"([{"score": 1}, {"name": "x"}])",
                  R"([{"operation": "filter", "condition": "score > 0"}])");
  EXPECT_EQ(e.message.rfind("operation 0 (filter): item 1: unknown reference \"score\"", 0), 0u)
      << e.message;
}

TEST(Filter, DefaultMakesAbsenceExplicit) {
  EXPECT_EQ(ok(R"([{"score": 5}, {"name": "x"}])",
               R"([{"operation": "filter", "condition": "default(score, 0) > 1"}])"),
            json(R"([{"score": 5}])"));
}

TEST(Filter, ConditionsDoNotSeeTheRun) {
  Error e = fails("[1]", R"([{"operation": "filter", "condition": "inputs.limit > 0"}])");
  EXPECT_NE(e.message.find("unknown reference \"inputs"), std::string::npos) << e.message;
}

TEST(Filter, RunRootsAreReadBehindTheItemsOwnNames) {
  auto ops = parse_operations(json(R"([{"operation": "filter", "condition": "score > inputs.min"},
                                      {"operation": "map", "expression": "name + state.suffix"}])"));
  ASSERT_TRUE(ops.ok());
  const Value roots = json(R"({"inputs": {"min": 80}, "state": {"suffix": "!"}})");
  auto r = apply_operations(json(kPeople), *ops, {}, {}, roots);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, json(R"(["ann!", "cat!"])"));
  // The item's own members come first.
  auto shadowed = apply_operations(json(R"([{"inputs": {"min": 0}, "score": 1, "name": "x"}])"),
                                   *ops, {}, {}, roots);
  ASSERT_TRUE(shadowed.ok());
  EXPECT_EQ(*shadowed, json(R"(["x!"])"));
}

TEST(Filter, StructuredConditionsWork) {
  EXPECT_EQ(ok(kPeople, R"([{"operation": "filter",
                             "condition": {"and": ["team == 'red'", {"not": "score > 88"}]}}])"),
            json(R"([{"name": "cat", "team": "red", "score": 85}])"));
}

TEST(Filter, BadSyntaxIsRejectedBeforeAnyItemIsRead) {
  Error e = fails("[]", R"([{"operation": "filter", "condition": "score >"}])");
  EXPECT_EQ(e.message.rfind("operation 0 (filter): bad condition: ", 0), 0u) << e.message;
}

TEST(Filter, NeedsACondition) {
  EXPECT_EQ(fails("[]", R"([{"operation": "filter"}])").message,
            "operation 0 (filter): needs a \"condition\"");
}

TEST(Filter, NeedsAList) {
  EXPECT_EQ(fails(R"({"a": 1})", R"([{"operation": "filter", "condition": "true"}])").message,
            "operation 0 (filter): needs a list, but the input is a map");
}

// ---- map ----

TEST(Map, AnExpressionReplacesTheItem) {
  EXPECT_EQ(ok(kPeople, R"([{"operation": "map", "expression": "name + ':' + team"}])"),
            json(R"(["ann:red", "bob:blue", "cat:red", "dan:blue"])"));
}

TEST(Map, AnExpressionWithFieldRewritesThatFieldSeeingItsValue) {
  EXPECT_EQ(ok(R"([{"n": "ann", "s": 2}])",
               R"j([{"operation": "map", "field": "n", "expression": "upper(value)"}])j"),
            json(R"([{"n": "ANN", "s": 2}])"));
}

TEST(Map, AnExpressionWithAsAddsAField) {
  EXPECT_EQ(ok(R"([{"s": 2}, {"s": 5}])",
               R"([{"operation": "map", "as": "double", "expression": "s * 2"}])"),
            json(R"([{"s": 2, "double": 4}, {"s": 5, "double": 10}])"));
}

TEST(Map, FieldAndAsReadOneFieldAndWriteAnother) {
  EXPECT_EQ(
      ok(R"([{"s": 2}])",
         R"([{"operation": "map", "field": "s", "as": "r.next", "expression": "value + 1"}])"),
      json(R"([{"s": 2, "r": {"next": 3}}])"));
}

TEST(Map, AMissingFieldIsCreated) {
  EXPECT_EQ(ok(R"([{"s": 2}])", R"([{"operation": "map", "field": "t", "expression": "s"}])"),
            json(R"([{"s": 2, "t": 2}])"));
}

TEST(Map, AMappingTranslatesAFieldByItsText) {
  EXPECT_EQ(ok(R"([{"p": 1}, {"p": "2"}, {"p": 9}, {"p": true}])",
               R"([{"operation": "map", "field": "p",
                    "mapping": {"1": "high", "2": "medium", "true": "yes"}}])"),
            json(R"([{"p": "high"}, {"p": "medium"}, {"p": 9}, {"p": "yes"}])"));
}

TEST(Map, AMappingWithAsKeepsTheField) {
  EXPECT_EQ(ok(R"([{"p": 1}])",
               R"([{"operation": "map", "field": "p", "as": "label", "mapping": {"1": "high"}}])"),
            json(R"([{"p": 1, "label": "high"}])"));
}

TEST(Map, AMappingWithoutFieldSetsItsMembersInEveryItem) {
  EXPECT_EQ(ok(R"([{"a": 1}, {"a": 2, "b": 0}])",
               R"([{"operation": "map", "mapping": {"b": 1, "c": "x"}}])"),
            json(R"([{"a": 1, "b": 1, "c": "x"}, {"a": 2, "b": 1, "c": "x"}])"));
}

TEST(Map, AMappingOfAMissingFieldNamesTheItem) {
  EXPECT_EQ(
      fails(R"([{"p": 1}, {}])", R"([{"operation": "map", "field": "p", "mapping": {}}])").message,
      "operation 0 (map): field \"p\" is missing in item 1");
}

TEST(Map, AMappingLooksUpScalarsOnly) {
  Error e = fails(R"([{"p": [1]}])", R"([{"operation": "map", "field": "p", "mapping": {}}])");
  EXPECT_EQ(e.message,
            "operation 0 (map): field \"p\" in item 0 is a list, not a scalar; a mapping looks up "
            "scalars");
}

TEST(Map, NeedsExactlyOneOfExpressionAndMapping) {
  EXPECT_EQ(fails("[]", R"([{"operation": "map"}])").message,
            "operation 0 (map): needs exactly one of \"expression\" and \"mapping\"");
  EXPECT_FALSE(transform("[]", R"([{"operation": "map", "expression": "1", "mapping": {}}])").ok());
}

TEST(Map, AsWithAMappingNeedsAField) {
  EXPECT_FALSE(transform("[]", R"([{"operation": "map", "as": "x", "mapping": {}}])").ok());
}

TEST(Map, TakesASingleMapToo) {
  EXPECT_EQ(ok(R"({"a": 1})", R"([{"operation": "map", "as": "b", "expression": "a + 1"}])"),
            json(R"({"a": 1, "b": 2})"));
}

TEST(Map, WritingIntoAScalarItemIsAnError) {
  EXPECT_EQ(fails("[1]", R"([{"operation": "map", "as": "b", "expression": "2"}])").message,
            "operation 0 (map): item 0: the item is an integer, not a map");
}

TEST(Map, ExpressionErrorsNameTheItem) {
  Error e = fails("[1, 0]", R"([{"operation": "map", "expression": "10 / item"}])");
  EXPECT_EQ(e.message.rfind("operation 0 (map): item 1: ", 0), 0u) << e.message;
}

// ---- aggregate ----

TEST(Aggregate, CountsItems) {
  EXPECT_EQ(ok(kPeople, R"([{"operation": "aggregate", "function": "count"}])"), Value(4));
}

TEST(Aggregate, CountWithoutAFieldCountsEveryItemNullsIncluded) {
  EXPECT_EQ(ok("[1, null, {}, null]", R"([{"operation": "aggregate", "function": "count"}])"),
            Value(4));
}

TEST(Aggregate, CountWithAFieldSkipsMissingAndNullValues) {
  EXPECT_EQ(ok(R"([{"a": 1}, {"a": null}, {}, {"a": 0}])",
               R"([{"operation": "aggregate", "function": "count", "field": "a"}])"),
            Value(2));
}

TEST(Aggregate, CountDistinctComparesByValue) {
  EXPECT_EQ(ok(R"([{"a": 1}, {"a": 1.0}, {"a": "1"}, {"a": null}, {}, {"a": [1]}, {"a": [1]}])",
               R"([{"operation": "aggregate", "function": "count_distinct", "field": "a"}])"),
            Value(3));
}

TEST(Aggregate, SumOfIntegersStaysAnInteger) {
  EXPECT_EQ(ok(kPeople, R"([{"operation": "aggregate", "function": "sum", "field": "score"}])"),
            Value(315));
}

TEST(Aggregate, SumWithADecimalIsADecimal) {
  EXPECT_EQ(ok("[1, 2.5]", R"([{"operation": "aggregate", "function": "sum"}])"), Value(3.5));
}

TEST(Aggregate, SumOfNothingIsZero) {
  EXPECT_EQ(ok("[]", R"([{"operation": "aggregate", "function": "sum"}])"), Value(0));
}

TEST(Aggregate, IntegerOverflowIsAnError) {
  Error e = fails("[9223372036854775807, 1]", R"([{"operation": "aggregate", "function": "sum"}])");
  EXPECT_EQ(e.message,
            "operation 0 (aggregate): the sum overflows a 64-bit integer: it is about "
            "9223372036854775808.0");
  Error below =
      fails("[-9223372036854775808, -1]", R"([{"operation": "aggregate", "function": "sum"}])");
  EXPECT_EQ(below.code, ErrorCode::kInvalidInput);
}

TEST(Aggregate, SumIsExactWhenTheTotalFitsThoughARunningSumWouldNot) {
  EXPECT_EQ(
      ok("[9223372036854775807, 1, -1]", R"([{"operation": "aggregate", "function": "sum"}])"),
      Value(int64_t{9223372036854775807}));
  EXPECT_EQ(
      ok("[-9223372036854775808, -1, 2]", R"([{"operation": "aggregate", "function": "sum"}])"),
      Value(int64_t{-9223372036854775807}));
  EXPECT_EQ(
      ok(R"([{"v": 9223372036854775807}, {"v": 9223372036854775807}, {"v": -9223372036854775807}])",
         R"([{"operation": "aggregate", "function": "sum", "field": "v"}])"),
      Value(int64_t{9223372036854775807}));
}

TEST(Aggregate, AverageIsADecimalAndSurvivesIntegerOverflow) {
  EXPECT_EQ(ok("[1, 2]", R"([{"operation": "aggregate", "function": "average"}])"), Value(1.5));
  auto big = ok("[9223372036854775807, 9223372036854775807]",
                R"([{"operation": "aggregate", "function": "average"}])");
  ASSERT_TRUE(big.is_double());
  EXPECT_NEAR(big.as_double(), 9.223372036854775807e18, 1e4);
}

TEST(Aggregate, AverageMinAndMaxOfNothingAreNull) {
  for (const char* f : {"average", "min", "max"}) {
    EXPECT_EQ(ok("[]", std::string(R"([{"operation": "aggregate", "function": ")") + f + "\"}]"),
              Value())
        << f;
  }
}

TEST(Aggregate, MinAndMaxOfNumbersKeepTheirKind) {
  EXPECT_EQ(ok("[3, 1.5, 7]", R"([{"operation": "aggregate", "function": "min"}])"), Value(1.5));
  EXPECT_EQ(ok("[3, 1.5, 7]", R"([{"operation": "aggregate", "function": "max"}])"), Value(7));
}

TEST(Aggregate, MinAndMaxOfStrings) {
  EXPECT_EQ(ok(kPeople, R"([{"operation": "aggregate", "function": "max", "field": "name"}])"),
            Value("dan"));
}

TEST(Aggregate, MinAndMaxRefuseMixedKinds) {
  EXPECT_EQ(fails(R"([1, "a"])", R"([{"operation": "aggregate", "function": "min"}])").message,
            "operation 0 (aggregate): item 1 is a string; min and max need all numbers or all "
            "strings");
}

TEST(Aggregate, SumNamesAMissingField) {
  EXPECT_EQ(fails(R"([{"s": 1}, {"t": 1}])",
                  R"([{"operation": "aggregate", "function": "sum", "field": "s"}])")
                .message,
            "operation 0 (aggregate): field \"s\" is missing in item 1");
}

TEST(Aggregate, SumNamesAValueThatIsNotANumber) {
  EXPECT_EQ(fails(R"([{"s": 1}, {"s": "2"}])",
                  R"([{"operation": "aggregate", "function": "sum", "field": "s"}])")
                .message,
            "operation 0 (aggregate): field \"s\" in item 1 is a string, not a number");
}

TEST(Aggregate, GroupByGivesOneRowPerGroupInFirstSeenOrder) {
  EXPECT_EQ(ok(kPeople, R"([{"operation": "aggregate", "function": "average", "field": "score",
                             "group_by": "team"}])"),
            json(R"([{"team": "red", "average": 87.5}, {"team": "blue", "average": 70.0}])"));
}

TEST(Aggregate, AsNamesTheResult) {
  EXPECT_EQ(ok(kPeople, R"([{"operation": "aggregate", "function": "count", "group_by": "team",
                             "as": "members"}])"),
            json(R"([{"team": "red", "members": 2}, {"team": "blue", "members": 2}])"));
}

TEST(Aggregate, GroupKeysKeepTheirKind) {
  EXPECT_EQ(ok(R"([{"k": 1}, {"k": 1.0}, {"k": null}])",
               R"([{"operation": "aggregate", "function": "count", "group_by": "k"}])"),
            json(R"([{"k": 1, "count": 2}, {"k": null, "count": 1}])"));
}

TEST(Aggregate, TheResultNameMustDifferFromTheGroupField) {
  EXPECT_FALSE(transform("[]", R"([{"operation": "aggregate", "function": "count",
                                    "group_by": "count"}])")
                   .ok());
}

TEST(Aggregate, ADottedGroupByMakesNestedRowsThatLaterOperationsRead) {
  const char* items = R"([{"user": {"team": "red"}, "s": 1}, {"user": {"team": "blue"}, "s": 2},
                          {"user": {"team": "red"}, "s": 3}])";
  EXPECT_EQ(ok(items, R"([{"operation": "aggregate", "function": "sum", "field": "s",
                           "group_by": "user.team"},
                          {"operation": "sort", "by": "user.team"}])"),
            json(R"([{"user": {"team": "blue"}, "sum": 2}, {"user": {"team": "red"}, "sum": 4}])"));
  EXPECT_EQ(ok(items, R"([{"operation": "aggregate", "function": "count", "group_by": "user.team",
                           "as": "user.members"}])"),
            json(R"([{"user": {"team": "red", "members": 2}},
                     {"user": {"team": "blue", "members": 1}}])"));
}

TEST(Aggregate, AResultNameInsideTheGroupFieldIsRefused) {
  Error e = fails("[]", R"([{"operation": "aggregate", "function": "count",
                             "group_by": "user.team", "as": "user"}])");
  EXPECT_EQ(e.message,
            "operation 0 (aggregate): the result name \"user\" and the group_by field "
            "\"user.team\" would overwrite each other in a row; choose another name with \"as\"");
}

TEST(Aggregate, GroupByFieldMissingIsAnError) {
  EXPECT_EQ(fails(R"([{"k": 1}, {}])",
                  R"([{"operation": "aggregate", "function": "count", "group_by": "k"}])")
                .message,
            "operation 0 (aggregate): field \"k\" is missing in item 1");
}

TEST(Aggregate, UnknownFunctionsAreNamedWithASuggestion) {
  Error e = fails("[]", R"([{"operation": "aggregate", "function": "avrage"}])");
  EXPECT_EQ(e.message,
            "operation 0 (aggregate): unknown function \"avrage\" (did you mean \"average\"?)");
  EXPECT_FALSE(transform("[]", R"([{"operation": "aggregate"}])").ok());
}

// ---- join ----

const char* kOrders = R"([{"id": 1, "user": 10}, {"id": 2, "user": 11}, {"id": 3, "user": 99}])";

TEST(Join, LeftJoinMergesTheMatchAndKeepsUnmatchedItems) {
  EXPECT_EQ(ok(kOrders, R"([{"operation": "join", "left_field": "user", "join_key": "uid",
                             "right_source": [{"uid": 10, "n": "ann"}, {"uid": 11, "n": "bob"}]}])"),
            json(R"([{"id": 1, "user": 10, "uid": 10, "n": "ann"},
                     {"id": 2, "user": 11, "uid": 11, "n": "bob"},
                     {"id": 3, "user": 99}])"));
}

TEST(Join, InnerJoinDropsUnmatchedItems) {
  EXPECT_EQ(ok(kOrders, R"([{"operation": "join", "left_field": "user", "join_key": "uid",
                             "join_type": "inner", "right_source": [{"uid": 11}]}])"),
            json(R"([{"id": 2, "user": 11, "uid": 11}])"));
}

TEST(Join, TheJoinKeyNamesBothSidesWithoutLeftField) {
  EXPECT_EQ(ok(R"([{"id": 1}])", R"([{"operation": "join", "join_key": "id",
                                     "right_source": [{"id": 1, "x": true}]}])"),
            json(R"([{"id": 1, "x": true}])"));
}

TEST(Join, EveryMatchGivesOneItemInRightOrder) {
  EXPECT_EQ(ok(R"([{"k": 1, "l": 0}])",
               R"([{"operation": "join", "join_key": "k",
                    "right_source": [{"k": 1, "r": "a"}, {"k": 2, "r": "z"}, {"k": 1, "r": "b"}]}])"),
            json(R"([{"k": 1, "l": 0, "r": "a"}, {"k": 1, "l": 0, "r": "b"}])"));
}

TEST(Join, TheRightSideWinsAClash) {
  EXPECT_EQ(
      ok(R"([{"k": 1, "v": "left"}])",
         R"([{"operation": "join", "join_key": "k", "right_source": [{"k": 1, "v": "right"}]}])"),
      json(R"([{"k": 1, "v": "right"}])"));
}

TEST(Join, AsNestsTheRightItemAndLeftJoinsSetNull) {
  EXPECT_EQ(ok(kOrders, R"([{"operation": "join", "left_field": "user", "join_key": "uid",
                             "as": "owner", "right_source": [{"uid": 10, "n": "ann"}]}])"),
            json(R"([{"id": 1, "user": 10, "owner": {"uid": 10, "n": "ann"}},
                     {"id": 2, "user": 11, "owner": null},
                     {"id": 3, "user": 99, "owner": null}])"));
}

TEST(Join, KeysCompareByValueAndNullsNeverMatch) {
  EXPECT_EQ(ok(R"([{"k": 1}, {"k": null}])",
               R"([{"operation": "join", "join_key": "k", "join_type": "inner",
                    "right_source": [{"k": 1.0, "a": 1}, {"k": null, "a": 2}]}])"),
            json(R"([{"k": 1.0, "a": 1}])"));
}

TEST(Join, TheBrokersResolvedValueIsUsed) {
  EXPECT_EQ(ok(R"([{"k": 1}])",
               R"([{"operation": "join", "join_key": "k", "right_source": "steps.meta.items",
                    "right_source_value": [{"k": 1, "m": 2}]}])"),
            json(R"([{"k": 1, "m": 2}])"));
}

TEST(Join, AnUnresolvedRightSourceIsAnError) {
  EXPECT_EQ(fails("[]", R"([{"operation": "join", "join_key": "k",
                             "right_source": "steps.meta.items"}])")
                .message,
            "operation 0 (join): \"right_source\" \"steps.meta.items\" was not resolved to a list "
            "before dispatch");
}

TEST(Join, RightSourceMustBeAListOfMaps) {
  EXPECT_FALSE(transform("[]", R"([{"operation": "join", "join_key": "k",
                                    "right_source": {"k": 1}}])")
                   .ok());
  EXPECT_EQ(fails(R"([{"k": 1}])",
                  R"([{"operation": "join", "join_key": "k", "right_source": [{"k": 1}, 5]}])")
                .message,
            "operation 0 (join): right item 1 is an integer, not a map");
}

TEST(Join, MissingKeysAreNamedOnEitherSide) {
  EXPECT_EQ(fails(R"([{"k": 1}])",
                  R"([{"operation": "join", "join_key": "k", "right_source": [{"k": 1}, {}]}])")
                .message,
            "operation 0 (join): field \"k\" is missing in right item 1");
  EXPECT_EQ(fails(R"([{"k": 1}, {"j": 2}])",
                  R"([{"operation": "join", "join_key": "k", "right_source": []}])")
                .message,
            "operation 0 (join): field \"k\" is missing in item 1");
}

TEST(Join, NeedsAJoinKey) {
  EXPECT_EQ(fails("[]", R"([{"operation": "join", "right_source": []}])").message,
            "operation 0 (join): needs a \"join_key\"");
}

TEST(Join, AResultOverTheLimitIsRefused) {
  TransformLimits limits;
  limits.max_items = 3;
  Error e = fails(
      R"([{"k": 1}, {"k": 1}])",
      R"([{"operation": "join", "join_key": "k", "right_source": [{"k": 1}, {"k": 1}]}])", limits);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_EQ(e.message, "operation 0 (join): the result has more than 3 items (the limit)");
}

// ---- the size limit ----

// Each "[item, item]" doubles the data: 40 of them would need 2^40 values.
std::string doubling_maps(int n) {
  std::string ops = "[";
  for (int i = 0; i < n; ++i) ops += R"({"operation": "map", "expression": "[item, item]"},)";
  return ops + R"({"operation": "aggregate", "function": "count"}])";
}

TEST(SizeLimit, RepeatedGrowingMapsStopAtTheLimitNamingTheOperation) {
  TransformLimits limits;
  limits.max_bytes = 1 << 20;
  Error e = fails("[1]", doubling_maps(40), limits);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  // 2^k ints nested in lists cost about 2^(k+1) values: the limit falls within operation 13.
  EXPECT_EQ(e.message.rfind("operation 13 (map): the data passed the size limit of 1048576 "
                            "bytes at item 0",
                            0),
            0u)
      << e.message;
}

TEST(SizeLimit, TheDefaultIs256MiB) { EXPECT_EQ(TransformLimits{}.max_bytes, size_t{256} << 20); }

TEST(SizeLimit, DataUnderTheLimitPasses) { EXPECT_EQ(ok("[1]", doubling_maps(10)), Value(1)); }

TEST(SizeLimit, AJoinCountsTheBytesOfThePairsItMakes) {
  TransformLimits limits;
  limits.max_bytes = 4096;
  std::string left = "[";
  for (int i = 0; i < 100; ++i)
    left += std::string(i ? "," : "") + R"({"k": 1, "pad": "xxxxxxxx"})";
  left += "]";
  Error e = fails(left, R"([{"operation": "join", "join_key": "k", "right_source": [{"k": 1}]}])",
                  limits);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_EQ(e.message.rfind("operation 0 (join): the data passed the size limit of 4096 bytes "
                            "at item ",
                            0),
            0u)
      << e.message;
}

TEST(SizeLimit, OtherOperationsResultsAreMeasuredWhenTheyFinish) {
  TransformLimits limits;
  limits.max_bytes = 200;
  Error e = fails(R"(["a", "b", "c", "d", "e", "f"])", R"([{"operation": "sort"}])", limits);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_EQ(e.message.rfind("operation 0 (sort): the result is about ", 0), 0u) << e.message;
}

TEST(SizeLimit, TheEstimateCountsValuesStringsAndKeys) {
  EXPECT_EQ(estimated_bytes(Value(1)), sizeof(Value));
  EXPECT_EQ(estimated_bytes(Value("abc")), sizeof(Value) + 3);
  EXPECT_EQ(estimated_bytes(json("[1, 2]")), 3 * sizeof(Value));
  EXPECT_GT(estimated_bytes(json(R"({"key": 1})")), 2 * sizeof(Value) + 3);
}

TEST(Join, BadJoinTypeIsRefused) {
  EXPECT_FALSE(transform("[]", R"([{"operation": "join", "join_key": "k", "right_source": [],
                                    "join_type": "outer"}])")
                   .ok());
}

// ---- group_by ----

TEST(GroupBy, GroupsItemsByTheFieldsTextInInputOrder) {
  EXPECT_EQ(ok(kPeople, R"([{"operation": "group_by", "field": "team"}])"),
            json(R"({"red":  [{"name": "ann", "team": "red", "score": 90},
                              {"name": "cat", "team": "red", "score": 85}],
                     "blue": [{"name": "bob", "team": "blue", "score": 70},
                              {"name": "dan", "team": "blue", "score": 70}]})"));
}

TEST(GroupBy, ScalarKeysBecomeTheirText) {
  EXPECT_EQ(
      ok(R"([{"k": 1}, {"k": true}, {"k": null}])", R"([{"operation": "group_by", "by": "k"}])"),
      json(R"({"1": [{"k": 1}], "true": [{"k": true}], "null": [{"k": null}]})"));
}

TEST(GroupBy, OneNumberIsOneGroupWhetherWrittenAsAnIntegerOrADecimal) {
  EXPECT_EQ(ok(R"([{"k": 1}, {"k": 1.0}, {"k": 1.5}])", R"([{"operation": "group_by", "by": "k"}])"),
            json(R"({"1": [{"k": 1}, {"k": 1.0}], "1.5": [{"k": 1.5}]})"));
}

TEST(GroupBy, DifferentValuesWithTheSameTextAreAnError) {
  EXPECT_EQ(
      fails(R"([{"k": 1}, {"k": "1"}])", R"([{"operation": "group_by", "field": "k"}])").message,
      "operation 0 (group_by): items 0 and 1 have different values of \"k\" that both read "
      "\"1\"");
}

TEST(GroupBy, ListKeysAreAnError) {
  EXPECT_EQ(fails(R"([{"k": [1]}])", R"([{"operation": "group_by", "field": "k"}])").message,
            "operation 0 (group_by): field \"k\" in item 0 is a list, not a scalar; groups are "
            "named by scalars");
}

TEST(GroupBy, NeedsExactlyOneOfByAndField) {
  EXPECT_EQ(fails("[]", R"([{"operation": "group_by"}])").message,
            "operation 0 (group_by): needs a \"field\" to group by");
  EXPECT_EQ(fails("[]", R"([{"operation": "group_by", "by": "a", "field": "b"}])").message,
            "operation 0 (group_by): takes \"by\" or \"field\", not both");
}

TEST(GroupBy, AMissingFieldIsAnError) {
  EXPECT_EQ(fails(R"([{"k": 1}, {}])", R"([{"operation": "group_by", "field": "k"}])").message,
            "operation 0 (group_by): field \"k\" is missing in item 1");
}

// ---- sort ----

TEST(Sort, SortsAscendingByAField) {
  EXPECT_EQ(ok(R"([{"s": 3}, {"s": 1}, {"s": 2}])", R"([{"operation": "sort", "by": "s"}])"),
            json(R"([{"s": 1}, {"s": 2}, {"s": 3}])"));
}

TEST(Sort, SortsDescending) {
  EXPECT_EQ(ok(R"([{"s": 3}, {"s": 1}, {"s": 2.5}])",
               R"([{"operation": "sort", "field": "s", "order": "desc"}])"),
            json(R"([{"s": 3}, {"s": 2.5}, {"s": 1}])"));
}

TEST(Sort, IsStableInBothDirections) {
  const char* items = R"([{"s": 1, "i": 0}, {"s": 2, "i": 1}, {"s": 1, "i": 2}, {"s": 2, "i": 3}])";
  EXPECT_EQ(ok(items, R"([{"operation": "sort", "by": "s"}])"),
            json(R"([{"s": 1, "i": 0}, {"s": 1, "i": 2}, {"s": 2, "i": 1}, {"s": 2, "i": 3}])"));
  EXPECT_EQ(ok(items, R"([{"operation": "sort", "by": "s", "order": "desc"}])"),
            json(R"([{"s": 2, "i": 1}, {"s": 2, "i": 3}, {"s": 1, "i": 0}, {"s": 1, "i": 2}])"));
}

TEST(Sort, IsStableForLongListsToo) {
  Value::Array items;
  for (int i = 0; i < 500; ++i) {
    Value item = Value::object();
    item["k"] = (i * 7) % 5;
    item["i"] = i;
    items.push_back(std::move(item));
  }
  for (const char* order : {"asc", "desc"}) {
    auto ops = parse_operations(
        json(std::string(R"([{"operation": "sort", "by": "k", "order": ")") + order + "\"}]"));
    ASSERT_TRUE(ops.ok());
    auto r = apply_operations(Value(items), *ops);
    ASSERT_TRUE(r.ok());
    for (size_t j = 1; j < r->size(); ++j) {
      const Value& a = r->as_array()[j - 1];
      const Value& b = r->as_array()[j];
      if (a.get_int("k") == b.get_int("k")) {
        ASSERT_LT(a.get_int("i"), b.get_int("i")) << order << " at " << j;
      }
    }
  }
}

TEST(Sort, SortsBySeveralFieldsMostSignificantFirst) {
  EXPECT_EQ(ok(kPeople, R"([{"operation": "sort", "by": "team, score", "order": "desc"}])"),
            json(R"([{"name": "ann", "team": "red", "score": 90},
                     {"name": "cat", "team": "red", "score": 85},
                     {"name": "bob", "team": "blue", "score": 70},
                     {"name": "dan", "team": "blue", "score": 70}])"));
  EXPECT_EQ(ok(kPeople, R"([{"operation": "sort", "by": ["score", "name"]}])"),
            json(R"([{"name": "bob", "team": "blue", "score": 70},
                     {"name": "dan", "team": "blue", "score": 70},
                     {"name": "cat", "team": "red", "score": 85},
                     {"name": "ann", "team": "red", "score": 90}])"));
}

TEST(Sort, NullsComeFirstAscendingAndLastDescending) {
  EXPECT_EQ(ok(R"([{"s": 2}, {"s": null}, {"s": 1}])", R"([{"operation": "sort", "by": "s"}])"),
            json(R"([{"s": null}, {"s": 1}, {"s": 2}])"));
  EXPECT_EQ(ok(R"([{"s": 2}, {"s": null}, {"s": 1}])",
               R"([{"operation": "sort", "by": "s", "order": "desc"}])"),
            json(R"([{"s": 2}, {"s": 1}, {"s": null}])"));
}

TEST(Sort, WithoutAFieldSortsTheItemsThemselves) {
  EXPECT_EQ(ok(R"(["b", "a", "c"])", R"([{"operation": "sort"}])"), json(R"(["a", "b", "c"])"));
}

TEST(Sort, AMissingFieldIsNamedWithTheOperationAndItemIndexes) {
  std::string items = "[";
  for (int i = 0; i < 10; ++i) {
    items += std::string(i ? "," : "") + (i == 7 ? R"({"name": "x"})" : R"({"score": 1})");
  }
  items += "]";
  Error e = fails(items, R"([{"operation": "filter", "condition": "true"},
                            {"operation": "map", "expression": "item"},
                            {"operation": "sort", "by": "score"}])");
  EXPECT_EQ(e.message, "operation 2 (sort): field \"score\" is missing in item 7");
}

TEST(Sort, MixedKindsAreAnErrorNamingBothItems) {
  EXPECT_EQ(
      fails(R"([{"s": 1}, {"s": 2}, {"s": "3"}])", R"([{"operation": "sort", "by": "s"}])").message,
      "operation 0 (sort): field \"s\" is a string in item 2 but an integer in item 0");
  EXPECT_EQ(fails(R"([1, "a"])", R"([{"operation": "sort"}])").message,
            "operation 0 (sort): item 1 is a string but an integer in item 0");
}

TEST(Sort, ListsAndMapsCannotBeSortKeys) {
  EXPECT_EQ(fails(R"([{"s": [1]}])", R"([{"operation": "sort", "by": "s"}])").message,
            "operation 0 (sort): field \"s\" is a list in item 0; sort orders numbers, strings and "
            "bools");
}

TEST(Sort, OrderMustBeAscOrDesc) {
  EXPECT_EQ(fails("[]", R"([{"operation": "sort", "order": "down"}])").message,
            "operation 0 (sort): \"order\" must be \"asc\" or \"desc\", not \"down\"");
}

TEST(Sort, BadFieldListsAreRefused) {
  EXPECT_FALSE(transform("[]", R"([{"operation": "sort", "by": "a,,b"}])").ok());
  EXPECT_FALSE(transform("[]", R"([{"operation": "sort", "by": []}])").ok());
  EXPECT_FALSE(transform("[]", R"([{"operation": "sort", "by": [1]}])").ok());
  EXPECT_FALSE(transform("[]", R"([{"operation": "sort", "by": 3}])").ok());
}

TEST(Sort, SortsManyItemsQuickly) {
  Value::Array items;
  for (int i = 0; i < 100000; ++i) {
    Value item = Value::object();
    item["k"] = (i * 7919) % 100003;
    items.push_back(std::move(item));
  }
  auto ops = parse_operations(json(R"([{"operation": "sort", "by": "k", "order": "desc"}])"));
  ASSERT_TRUE(ops.ok());
  auto r = apply_operations(Value(std::move(items)), *ops);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 100000u);
  for (size_t i = 1; i < r->size(); ++i) {
    ASSERT_GE(r->as_array()[i - 1].get_int("k"), r->as_array()[i].get_int("k"));
  }
}

// ---- chains and the operations list ----

TEST(TransformChain, OperationsRunInOrderOnEachOthersResult) {
  EXPECT_EQ(ok(kPeople, R"([
      {"operation": "filter", "condition": "score > 70"},
      {"operation": "map", "as": "bonus", "expression": "score + 10"},
      {"operation": "sort", "by": "bonus"},
      {"operation": "map", "expression": "name"}])"),
            json(R"(["cat", "ann"])"));
}

TEST(TransformChain, AMapAfterGroupBySeesTheGroupsByName) {
  EXPECT_EQ(ok(R"([{"t": "a"}, {"t": "b"}, {"t": "a"}])", R"([
      {"operation": "group_by", "field": "t"},
      {"operation": "map", "expression": "[length(a), length(b)]"}])"),
            json("[2, 1]"));
}

TEST(TransformChain, AListOperationAfterAScalarResultSaysWhichOperationMadeIt) {
  EXPECT_EQ(fails(kPeople, R"([{"operation": "aggregate", "function": "count"},
                               {"operation": "sort"}])")
                .message,
            "operation 1 (sort): needs a list, but the result of operation 0 (aggregate) is an "
            "integer");
}

std::string parse_error(std::string_view operations, const TransformLimits& limits = {}) {
  auto r = parse_operations(json(operations), limits);
  EXPECT_FALSE(r.ok()) << operations;
  return r.ok() ? "" : r.error().message;
}

TEST(TransformOperations, MustBeANonEmptyListOfMaps) {
  EXPECT_EQ(parse_error(R"({"operation": "sort"})"), "\"operations\" must be a list, not a map");
  EXPECT_EQ(parse_error("[]"), "\"operations\" must not be empty");
  EXPECT_EQ(parse_error(R"([{"operation": "sort"}, "sort"])"),
            "operation 1 must be a map, not a string");
}

TEST(TransformOperations, EachNamesAKnownOperation) {
  EXPECT_EQ(parse_error(R"([{"by": "x"}])"),
            "operation 0 needs an \"operation\" (filter, map, aggregate, join, group_by, sort)");
  EXPECT_EQ(parse_error(R"([{"operation": "fliter"}])"),
            "operation 0: unknown operation \"fliter\" (did you mean \"filter\"?)");
}

TEST(TransformOperations, OptionsThatDoNotApplyAreRefused) {
  EXPECT_EQ(
      parse_error(R"([{"operation": "sort", "by": "a"}, {"operation": "sort", "condition": "x"}])"),
      "operation 1 (sort): key \"condition\" does not apply to sort");
  EXPECT_EQ(parse_error(R"([{"operation": "filter", "condition": "x", "oder": 1}])"),
            "operation 0 (filter): key \"oder\" does not apply to filter");
}

TEST(TransformOperations, OptionsOfTheWrongKindAreRefused) {
  EXPECT_EQ(parse_error(R"([{"operation": "sort", "order": 1}])"),
            "operation 0 (sort): \"order\" must be a string, not an integer");
  EXPECT_EQ(parse_error(R"([{"operation": "map", "mapping": [1]}])"),
            "operation 0 (map): \"mapping\" must be a map, not a list");
}

TEST(TransformOperations, TooManyAreRefused) {
  TransformLimits limits;
  limits.max_operations = 2;
  auto r = parse_operations(json(R"([{"operation": "sort"}, {"operation": "sort"},
                                     {"operation": "sort"}])"),
                            limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(r.error().message, "\"operations\" has 3 entries; the limit is 2");
}

TEST(TransformOperations, AStopRequestEndsTheRunWithCancelled) {
  auto r = transform("[1, 2, 3]", R"([{"operation": "sort"}])", {}, [] { return true; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  EXPECT_TRUE(transform("[1, 2, 3]", R"([{"operation": "sort"}])", {}, [] { return false; }).ok());
}

TEST(TransformOperations, ParsedOperationsCanBeAppliedAgain) {
  auto ops = parse_operations(json(R"([{"operation": "filter", "condition": "item > 1"}])"));
  ASSERT_TRUE(ops.ok());
  EXPECT_EQ(*apply_operations(json("[1, 2]"), *ops), json("[2]"));
  EXPECT_EQ(*apply_operations(json("[3, 0]"), *ops), json("[3]"));
}

}  // namespace
}  // namespace pl::worker::data
