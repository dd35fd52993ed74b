#include "common/pipeline/expression.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "test_util.h"

namespace pl::pipeline {
namespace {

using testing::json;

// A run's view: inputs, two step results, globals, state and a loop frame.
const Value& run_values() {
  static const Value kValues = json(R"({
    "inputs": {"topic": "cats", "n": 3, "ratio": 0.5, "flag": false, "empty": ""},
    "steps": {
      "fetch": {"success": true, "text": "hello world", "score": 85,
                "data": {"items": [10, 20, 30], "name": "x", "0": "zero", "with space": 1,
                         "nothing": null}},
      "tests": {"results": [{"status": "passed", "ms": 5}, {"status": "failed", "ms": 7}]}
    },
    "global_vars": {"env": "prod", "limit": 100},
    "state": {"counter": 2},
    "loop": {"file": {"name": "a.py"}, "index": 1, "total": 3, "first": false, "last": false,
             "parent": {"index": 4, "dir": "src"}}
  })");
  return kValues;
}

Value eval(std::string_view expr) {
  ValueScope scope(run_values());
  auto r = evaluate_expression(expr, scope);
  EXPECT_TRUE(r.ok()) << expr << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Value("<error>");
}

Error eval_error(std::string_view expr) {
  ValueScope scope(run_values());
  auto r = evaluate_expression(expr, scope);
  EXPECT_FALSE(r.ok()) << expr << " evaluated to " << (r.ok() ? to_json(*r) : "");
  return r.ok() ? Error{} : r.error();
}

// ---- literals ----

TEST(Expression, LiteralsHaveTheirKinds) {
  EXPECT_EQ(eval("42"), Value(42));
  EXPECT_EQ(eval("-7"), Value(-7));
  EXPECT_EQ(eval("3.25"), Value(3.25));
  EXPECT_EQ(eval("1e3"), Value(1000.0));
  EXPECT_EQ(eval("'single'"), Value("single"));
  EXPECT_EQ(eval("\"double\""), Value("double"));
  EXPECT_EQ(eval("true"), Value(true));
  EXPECT_EQ(eval("false"), Value(false));
  EXPECT_EQ(eval("null"), Value());
  EXPECT_EQ(eval("[1, 'a', inputs.n]"), json(R"([1, "a", 3])"));
  EXPECT_EQ(eval("[]"), Value::array());
}

TEST(Expression, StringEscapesAreDecodedAndUnknownEscapesKept) {
  EXPECT_EQ(eval(R"('it\'s')"), Value("it's"));
  EXPECT_EQ(eval(R"("a\nb\t\"c\"")"), Value("a\nb\t\"c\""));
  EXPECT_EQ(eval(R"('\d+\.py')"), Value("\\d+\\.py"));
}

TEST(Expression, IntegerLiteralOutOfRangeIsAnError) {
  EXPECT_NE(eval_error("99999999999999999999").message.find("out of range"), std::string::npos);
}

// ---- references ----

TEST(Expression, ReferencesWalkPathsByNameIndexAndKey) {
  EXPECT_EQ(eval("inputs.topic"), Value("cats"));
  EXPECT_EQ(eval("steps.fetch.score"), Value(85));
  EXPECT_EQ(eval("steps.fetch.data.items.1"), Value(20));
  EXPECT_EQ(eval("steps.fetch.data.items[2]"), Value(30));
  EXPECT_EQ(eval("steps.fetch.data[\"name\"]"), Value("x"));
  EXPECT_EQ(eval("steps.fetch.data['with space']"), Value(1));
  EXPECT_EQ(eval("steps['fetch'].score"), Value(85));
  EXPECT_EQ(eval("steps.fetch.data.items[inputs.n - 2]"), Value(20));
  EXPECT_EQ(eval("steps.tests.results[1].status"), Value("failed"));
}

TEST(Expression, NumericSegmentOnAMapFindsTheMemberOfThatName) {
  EXPECT_EQ(eval("steps.fetch.data.0"), Value("zero"));
}

TEST(Expression, BareStepNameResolvesLikeStepsDotName) {
  EXPECT_EQ(eval("fetch.score"), Value(85));
  EXPECT_EQ(eval("fetch.data.items[0]"), eval("steps.fetch.data.items[0]"));
}

TEST(Expression, EveryRootOfTheFormatResolves) {
  EXPECT_EQ(eval("global_vars.env"), Value("prod"));
  EXPECT_EQ(eval("state.counter"), Value(2));
  EXPECT_EQ(eval("loop.file.name"), Value("a.py"));
  EXPECT_EQ(eval("loop.index"), Value(1));
  EXPECT_EQ(eval("loop.parent.dir"), Value("src"));
}

TEST(Expression, WholeObjectsAreReturnedWithTheirType) {
  EXPECT_EQ(eval("steps.fetch.data.items"), json("[10, 20, 30]"));
  EXPECT_TRUE(eval("steps.fetch.data").is_object());
}

TEST(Expression, AStepsDataMembersReadAsItsOwnWhenItHasNoneOfThatName) {
  // pipeline_ex writes `steps.find.files` for what we keep in `steps.find.data.files`.
  EXPECT_EQ(eval("steps.fetch.items[1]"), Value(20));
  EXPECT_EQ(eval("steps.fetch.name"), Value("x"));
  EXPECT_EQ(eval("steps.fetch.success"), Value(true));  // the result's own member first
  EXPECT_EQ(eval("steps.fetch.data.name"), Value("x"));
  // Only a step's own members: not deeper, not elsewhere.
  eval_error("steps.fetch.data.items.name");
  eval_error("inputs.items");
}

TEST(Expression, ABareStepNameReadsItsDataMembersAsItsOwnLikeStepsDotName) {
  // pipeline_ex also writes `find.files`: the same fallback as under `steps`.
  EXPECT_EQ(eval("fetch.items[1]"), Value(20));
  EXPECT_EQ(eval("fetch.name"), Value("x"));
  EXPECT_EQ(eval("fetch.success"), Value(true));  // the result's own member first
  Error deeper = eval_error("fetch.data.items.name");
  EXPECT_EQ(deeper.code, ErrorCode::kNotFound);
}

TEST(Expression, AnItemsFieldsAreNotStepsSoTheirDataIsNotReadThrough) {
  const Value item = json(R"({"r": {"data": {"ok": true}}})");
  ValueScope outer(run_values());
  ItemScope scope(item, outer);
  auto field = evaluate_expression("r.ok", scope);
  ASSERT_FALSE(field.ok());
  EXPECT_EQ(field.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*evaluate_expression("r.data.ok", scope), Value(true));
  // A step behind the item still is one.
  EXPECT_EQ(*evaluate_expression("fetch.items[0]", scope), Value(10));
}

TEST(Expression, UnknownMemberNamesTheFullReferenceAndTheOwner) {
  Error e = eval_error("steps.fetch.missing");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(e.message,
            "unknown reference \"steps.fetch.missing\": \"fetch\" has no member \"missing\"");
}

TEST(Expression, UnknownMemberSuggestsTheNearestKey) {
  Error e = eval_error("steps.fetch.dta");
  EXPECT_NE(e.message.find("(did you mean \"data\"?)"), std::string::npos) << e.message;
}

TEST(Expression, UnknownRootIsAnUnknownReference) {
  Error e = eval_error("nosuch.thing");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(e.message, "unknown reference \"nosuch.thing\": nothing is named \"nosuch\"");
}

TEST(Expression, UnknownStepIsAnUnknownReference) {
  Error e = eval_error("steps.nope.text");
  EXPECT_EQ(e.message, "unknown reference \"steps.nope.text\": \"steps\" has no member \"nope\"");
}

TEST(Expression, IndexOutOfRangeIsAnUnknownReferenceThatSaysTheSize) {
  Error e = eval_error("steps.fetch.data.items[5]");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(
      e.message,
      "unknown reference \"steps.fetch.data.items[5]\": \"items\" has 3 elements, no index 5");
}

TEST(Expression, MemberOfAScalarOrNullIsAnUnknownReference) {
  EXPECT_NE(eval_error("steps.fetch.text.x").message.find("\"text\" is string \"hello world\""),
            std::string::npos);
  EXPECT_NE(eval_error("steps.fetch.data.nothing.x").message.find("\"nothing\" is null"),
            std::string::npos);
  EXPECT_NE(eval_error("steps.fetch.data.items.name").message.find("is a list, not a map"),
            std::string::npos);
}

TEST(Expression, AComputedIndexOfTheWrongKindIsATypeError) {
  Error e = eval_error("steps.fetch.data.items[true]");
  EXPECT_EQ(e.code, ErrorCode::kInvalidInput);
  Error computed = eval_error("steps.fetch.data.items[inputs.flag]");
  EXPECT_NE(computed.message.find("must be an integer or a string, got bool false"),
            std::string::npos)
      << computed.message;
}

TEST(Expression, NullIsAValueNotAnAbsence) { EXPECT_EQ(eval("steps.fetch.data.nothing"), Value()); }

// ---- arithmetic ----

TEST(Expression, IntegerArithmeticStaysInteger) {
  EXPECT_EQ(eval("7 + 3"), Value(10));
  EXPECT_EQ(eval("7 - 10"), Value(-3));
  EXPECT_EQ(eval("6 * 7"), Value(42));
  EXPECT_EQ(eval("7 / 2"), Value(3));
  EXPECT_EQ(eval("-7 / 2"), Value(-3));
  EXPECT_EQ(eval("7 % 3"), Value(1));
  EXPECT_EQ(eval("state.counter + 1"), Value(3));
}

TEST(Expression, AnyDoubleMakesADouble) {
  EXPECT_EQ(eval("7 / 2.0"), Value(3.5));
  EXPECT_EQ(eval("inputs.ratio * 4"), Value(2.0));
  EXPECT_EQ(eval("1 + 0.5"), Value(1.5));
  EXPECT_EQ(eval("7.5 % 2"), Value(1.5));
}

TEST(Expression, PlusJoinsTwoStringsOrTwoLists) {
  EXPECT_EQ(eval("'a' + 'b'"), Value("ab"));
  EXPECT_EQ(eval("inputs.topic + '!'"), Value("cats!"));
  EXPECT_EQ(eval("[1] + [2, 3]"), json("[1, 2, 3]"));
}

TEST(Expression, DivisionByZeroIsAnError) {
  EXPECT_EQ(eval_error("1 / 0").message, "division by zero in \"/\"");
  EXPECT_EQ(eval_error("1 % 0").message, "division by zero in \"%\"");
  EXPECT_EQ(eval_error("1.5 / 0").message, "division by zero in \"/\"");
  EXPECT_EQ(eval_error("1 / 0.0").message, "division by zero in \"/\"");
}

TEST(Expression, IntegerOverflowIsAnError) {
  EXPECT_EQ(eval_error("9223372036854775807 + 1").message, "integer overflow in \"+\"");
  EXPECT_EQ(eval_error("-9223372036854775807 - 2").message, "integer overflow in \"-\"");
  EXPECT_EQ(eval_error("4611686018427387904 * 2").message, "integer overflow in \"*\"");
}

TEST(Expression, ArithmeticTypeErrorsNameTheOperatorAndTheKinds) {
  EXPECT_EQ(eval_error("'a' - 1").message,
            "operator \"-\" cannot apply to string \"a\" and integer 1");
  EXPECT_EQ(eval_error("inputs.topic + 1").message,
            "operator \"+\" cannot apply to string \"cats\" and integer 1");
  EXPECT_EQ(eval_error("null * 2").message, "operator \"*\" cannot apply to null and integer 2");
  EXPECT_EQ(eval_error("-'x'").message, "operator \"-\" cannot apply to string \"x\"");
}

// ---- precedence ----

TEST(Expression, MultiplicationBindsTighterThanAddition) {
  EXPECT_EQ(eval("2 + 3 * 4"), Value(14));
  EXPECT_EQ(eval("(2 + 3) * 4"), Value(20));
  EXPECT_EQ(eval("10 - 4 - 3"), Value(3));
  EXPECT_EQ(eval("100 / 10 / 5"), Value(2));
  EXPECT_EQ(eval("2 * -3"), Value(-6));
  EXPECT_EQ(eval("- (2 + 3)"), Value(-5));
}

TEST(Expression, ComparisonBindsLooserThanArithmetic) {
  EXPECT_EQ(eval("1 + 2 == 3"), Value(true));
  EXPECT_EQ(eval("steps.fetch.score > 80 + 10"), Value(false));
}

TEST(Expression, NotBindsLooserThanComparisonAndAndTighterThanOr) {
  EXPECT_EQ(eval("not 1 == 2"), Value(true));
  EXPECT_EQ(eval("true or false and false"), Value(true));
  EXPECT_EQ(eval("(true or false) and false"), Value(false));
  EXPECT_EQ(eval("not false and false"), Value(false));
  EXPECT_EQ(eval("not not true"), Value(true));
}

TEST(Expression, ComparisonsCannotBeChained) {
  Error e = eval_error("1 < 2 < 3");
  EXPECT_NE(e.message.find("comparisons cannot be chained"), std::string::npos) << e.message;
}

// ---- comparison ----

TEST(Expression, ComparisonsOfNumbersAndStrings) {
  EXPECT_EQ(eval("steps.fetch.score >= 85"), Value(true));
  EXPECT_EQ(eval("steps.fetch.score > 85"), Value(false));
  EXPECT_EQ(eval("steps.fetch.score < 85.5"), Value(true));
  EXPECT_EQ(eval("steps.fetch.score <= 84"), Value(false));
  EXPECT_EQ(eval("'apple' < 'banana'"), Value(true));
  EXPECT_EQ(eval("1 == 1.0"), Value(true));
  EXPECT_EQ(eval("1 != 1.0"), Value(false));
  EXPECT_EQ(eval("'1' == 1"), Value(false));
  EXPECT_EQ(eval("null == null"), Value(true));
  EXPECT_EQ(eval("steps.fetch.data.items == [10, 20, 30.0]"), Value(true));
}

TEST(Expression, OrderingDifferentKindsIsATypeError) {
  EXPECT_EQ(eval_error("'a' < 1").message,
            "operator \"<\" cannot apply to string \"a\" and integer 1");
  EXPECT_EQ(eval_error("null >= 0").message, "operator \">=\" cannot apply to null and integer 0");
}

TEST(Expression, ContainsWorksOnStringsListsAndMaps) {
  EXPECT_EQ(eval("steps.fetch.text contains 'world'"), Value(true));
  EXPECT_EQ(eval("steps.fetch.text contains 'mars'"), Value(false));
  EXPECT_EQ(eval("steps.fetch.data.items contains 20"), Value(true));
  EXPECT_EQ(eval("steps.fetch.data.items contains 20.0"), Value(true));
  EXPECT_EQ(eval("steps.fetch.data contains 'name'"), Value(true));
  EXPECT_EQ(eval_error("5 contains 1").message,
            "operator \"contains\" cannot apply to integer 5 and integer 1");
}

TEST(Expression, InAndNotInAreContainsReversed) {
  EXPECT_EQ(eval("'py' in ['py', 'js']"), Value(true));
  EXPECT_EQ(eval("'rb' in ['py', 'js']"), Value(false));
  EXPECT_EQ(eval("'rb' not_in ['py', 'js']"), Value(true));
  EXPECT_EQ(eval("'ell' in steps.fetch.text"), Value(true));
}

TEST(Expression, StartsWithAndEndsWithCompareText) {
  EXPECT_EQ(eval("steps.fetch.text starts_with 'hello'"), Value(true));
  EXPECT_EQ(eval("steps.fetch.text ends_with 'hello'"), Value(false));
  EXPECT_EQ(eval("'ab' ends_with 'abc'"), Value(false));
}

TEST(Expression, MatchesRunsARegexSearch) {
  EXPECT_EQ(eval("loop.file.name matches '^[a-z]+\\.py$'"), Value(true));
  EXPECT_EQ(eval("steps.fetch.text matches 'wor'"), Value(true));
  EXPECT_EQ(eval("steps.fetch.text matches '^wor'"), Value(false));
}

TEST(Expression, ABadRegexIsAClearError) {
  Error e = eval_error("'x' matches '(unclosed'");
  EXPECT_EQ(e.code, ErrorCode::kInvalidInput);
  EXPECT_EQ(e.message.rfind("bad regex \"(unclosed\": ", 0), 0u) << e.message;
}

// What validate asks of an expression: the patterns it writes out, checked without running it;
// a pattern computed at run time is for the run to judge.
TEST(Expression, ThePatternsWrittenInAnExpressionAreCheckedBeforeItRuns) {
  auto bad = Expression::parse("steps.a.text matches '(['");
  ASSERT_TRUE(bad.ok()) << bad.error().message;
  Status st = bad->check_patterns();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(st.error().message.rfind("steps.a.text matches '([': bad regex \"([\": ", 0), 0u)
      << st.error().message;
  EXPECT_FALSE(Expression::parse("not (x > 1 and y matches '(a+)+')")->check_patterns().ok());
  EXPECT_TRUE(Expression::parse("x matches '^a+$'")->check_patterns().ok());
  EXPECT_TRUE(Expression::parse("x matches inputs.pattern")->check_patterns().ok());
}

TEST(Expression, ARegexOverTheSizeLimitIsRefused) {
  std::string pattern(kMaxRegexLength + 1, 'a');
  Error e = eval_error("'x' matches '" + pattern + "'");
  EXPECT_NE(e.message.find("over the limit of 1000"), std::string::npos) << e.message;
}

TEST(Expression, MatchesRefusesTextsOverTheLimit) {
  Value big = Value::object();
  big["inputs"]["text"] = std::string(kMaxRegexSubject + 1, 'a');
  auto r = evaluate_expression("inputs.text matches 'a'", ValueScope(big));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("over the limit of 10000"), std::string::npos);
}

TEST(Expression, MatchesOnALongTextWithARecursivePatternDoesNotCrash) {
  Value big = Value::object();
  big["inputs"]["text"] = std::string(kMaxRegexSubject, 'a');
  auto r = evaluate_expression("inputs.text matches '^(((a|b)|c)|(.|\\n))*$'", ValueScope(big));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, Value(true));
}

TEST(Expression, MatchesRefusesPatternsThatTakeExponentialTime) {
  for (const char* pattern : {"(a+)+b", "(a*)*", "(x\\w+\\s?)*$", "((ab)+c)+", "(a{2,})+"}) {
    auto r = evaluate_expression(std::string("'aaaa' matches '") + pattern + "'",
                                 ValueScope(run_values()));
    ASSERT_FALSE(r.ok()) << pattern;
    EXPECT_NE(r.error().message.find("can take exponential time"), std::string::npos)
        << pattern << ": " << r.error().message;
  }
  EXPECT_NE(eval_error("'aa' matches '(a)\\1'").message.find("backreferences"), std::string::npos);
  EXPECT_NE(eval_error("'aa' matches 'a{5000}'").message.find("repetition count is over 1000"),
            std::string::npos);
}

TEST(Expression, MatchesAcceptsBoundedAndSingleRepetition) {
  EXPECT_EQ(eval("'ab12' matches '^(ab)+[0-9]{1,3}$'"), Value(true));
  EXPECT_EQ(eval("'aXb' matches '(a?X)*b'"), Value(true));
  EXPECT_EQ(eval("'abc' matches '[(+*)]'"), Value(false));
  EXPECT_EQ(eval("'a+' matches 'a\\+'"), Value(true));
  EXPECT_EQ(eval("'aaa' matches 'a+?'"), Value(true));
}

TEST(Expression, MatchesOnNonStringsIsATypeError) {
  EXPECT_EQ(eval_error("1 matches 'x'").message,
            "operator \"matches\" cannot apply to integer 1 and string \"x\"");
}

TEST(Expression, BetweenIsInclusive) {
  EXPECT_EQ(eval("steps.fetch.score between 80 and 90"), Value(true));
  EXPECT_EQ(eval("85 between 85 and 85"), Value(true));
  EXPECT_EQ(eval("79.9 between 80 and 90"), Value(false));
  EXPECT_EQ(eval("'b' between 'a' and 'c'"), Value(true));
  EXPECT_EQ(eval("5 between 1 and 9 and false"), Value(false));
  EXPECT_NE(eval_error("'x' between 1 and 2").message.find("\"between\" cannot compare"),
            std::string::npos);
}

TEST(Expression, ExistsIsFalseForUnknownReferencesAndNull) {
  EXPECT_EQ(eval("steps.fetch.score exists"), Value(true));
  EXPECT_EQ(eval("steps.fetch.nope exists"), Value(false));
  EXPECT_EQ(eval("steps.fetch.data.nothing exists"), Value(false));
  EXPECT_EQ(eval("steps.nope.x exists"), Value(false));
}

TEST(Expression, EmptyIsTrueForEmptyValues) {
  EXPECT_EQ(eval("inputs.empty empty"), Value(true));
  EXPECT_EQ(eval("steps.fetch.text empty"), Value(false));
}

// ---- logic ----

TEST(Expression, AndOrReturnBoolsFromTruthiness) {
  EXPECT_EQ(eval("inputs.topic and 0"), Value(true));
  EXPECT_EQ(eval("inputs.empty or []"), Value(false));
  EXPECT_EQ(eval("not inputs.empty"), Value(true));
}

TEST(Expression, AndOrShortCircuitSoTheSkippedSideNeedNotExist) {
  EXPECT_EQ(eval("false and steps.nope.x"), Value(false));
  EXPECT_EQ(eval("true or steps.nope.x"), Value(true));
  EXPECT_EQ(eval_error("true and steps.nope.x").code, ErrorCode::kNotFound);
}

// ---- functions ----

TEST(ExpressionFunctions, ArithmeticFunctionsMatchTheOperators) {
  EXPECT_EQ(eval("add(2, 3)"), Value(5));
  EXPECT_EQ(eval("subtract(2, 3)"), Value(-1));
  EXPECT_EQ(eval("multiply(2, 3.5)"), Value(7.0));
  EXPECT_EQ(eval("divide(7, 2)"), Value(3));
  EXPECT_EQ(eval("add('a', 'b')"), Value("ab"));
  EXPECT_NE(eval_error("divide(1, 0)").message.find("division by zero"), std::string::npos);
}

TEST(ExpressionFunctions, MinAndMaxTakeSeveralNumbersOrOneList) {
  EXPECT_EQ(eval("min(3, 1, 2)"), Value(1));
  EXPECT_EQ(eval("max(3, 1.5, 2)"), Value(3));
  EXPECT_EQ(eval("max(steps.fetch.data.items)"), Value(30));
  EXPECT_EQ(eval("min([2.5, 7])"), Value(2.5));
  EXPECT_EQ(eval_error("min([])").message, "min() of an empty list");
  EXPECT_EQ(eval_error("max(1, 'a')").message, "max() expects numbers, got string \"a\"");
}

TEST(ExpressionFunctions, RoundFloorAndCeilGiveIntegers) {
  EXPECT_EQ(eval("round(2.5)"), Value(3));
  EXPECT_EQ(eval("round(-2.5)"), Value(-3));
  EXPECT_EQ(eval("round(7)"), Value(7));
  EXPECT_EQ(eval("round(3.14159, 2)"), Value(3.14));
  EXPECT_EQ(eval("floor(2.7)"), Value(2));
  EXPECT_EQ(eval("floor(-2.1)"), Value(-3));
  EXPECT_EQ(eval("ceil(2.1)"), Value(3));
  EXPECT_EQ(eval_error("floor('x')").message, "floor() expects a number, got string \"x\"");
  EXPECT_NE(eval_error("ceil(1e300)").message.find("does not fit an integer"), std::string::npos);
}

TEST(ExpressionFunctions, LengthCountsCharactersElementsAndMembers) {
  EXPECT_EQ(eval("length('héllo')"), Value(5));
  EXPECT_EQ(eval("length(steps.fetch.data.items)"), Value(3));
  EXPECT_EQ(eval("length(steps.tests)"), Value(1));
  EXPECT_EQ(eval_error("length(5)").message,
            "length() expects a string, list or map, got integer 5");
}

TEST(ExpressionFunctions, JoinStringifiesElements) {
  EXPECT_EQ(eval("join(['a', 1, true, null])"), Value("a, 1, true, null"));
  EXPECT_EQ(eval("join(steps.fetch.data.items, '-')"), Value("10-20-30"));
  EXPECT_EQ(eval("join([])"), Value(""));
  EXPECT_EQ(eval_error("join('abc')").message, "join() expects a list, got string \"abc\"");
}

TEST(ExpressionFunctions, UpperLowerAndTrimWorkOnStrings) {
  EXPECT_EQ(eval("upper(inputs.topic)"), Value("CATS"));
  EXPECT_EQ(eval("lower('MiXeD')"), Value("mixed"));
  EXPECT_EQ(eval("trim('  x y \n')"), Value("x y"));
  EXPECT_EQ(eval("trim('   ')"), Value(""));
  EXPECT_EQ(eval_error("upper(1)").message, "upper() expects a string, got integer 1");
}

TEST(ExpressionFunctions, DefaultReplacesUnknownReferencesAndNullOnly) {
  EXPECT_EQ(eval("default(steps.fetch.nope, 'fallback')"), Value("fallback"));
  EXPECT_EQ(eval("default(steps.nope.x.y, 0)"), Value(0));
  EXPECT_EQ(eval("default(steps.fetch.data.nothing, 1)"), Value(1));
  EXPECT_EQ(eval("default(inputs.empty, 'x')"), Value(""));
  EXPECT_EQ(eval("default(inputs.flag, true)"), Value(false));
  EXPECT_EQ(eval("default(steps.fetch.score, 0)"), Value(85));
}

TEST(ExpressionFunctions, DefaultDoesNotHideOtherErrors) {
  EXPECT_EQ(eval_error("default(1 / 0, 2)").message, "division by zero in \"/\"");
  EXPECT_EQ(eval_error("default('a' - 1, 2)").code, ErrorCode::kInvalidInput);
}

TEST(ExpressionFunctions, DefaultEvaluatesTheFallbackOnlyWhenNeeded) {
  EXPECT_EQ(eval("default(1, steps.nope.x)"), Value(1));
}

TEST(ExpressionFunctions, JsonSerialisesCompactly) {
  EXPECT_EQ(eval("json(steps.fetch.data.items)"), Value("[10,20,30]"));
  EXPECT_EQ(eval("json('x')"), Value("\"x\""));
}

TEST(ExpressionFunctions, AnyAndAllTestTruthinessOrAPredicate) {
  EXPECT_EQ(eval("any([0, false])"), Value(true));
  EXPECT_EQ(eval("all([1, ''])"), Value(false));
  EXPECT_EQ(eval("all([])"), Value(true));
  EXPECT_EQ(eval("any(steps.tests.results, 'status == \"failed\"')"), Value(true));
  EXPECT_EQ(eval("all(steps.tests.results, 'ms < 10')"), Value(true));
  EXPECT_EQ(eval("all(steps.tests.results, 'item.ms < 6')"), Value(false));
}

TEST(ExpressionFunctions, APredicateSeesTheRunThroughTheElement) {
  EXPECT_EQ(eval("count(steps.fetch.data.items, 'item > inputs.n * 5')"), Value(2));
}

TEST(ExpressionFunctions, APredicateIsParsedWhenTheExpressionIs) {
  auto parsed = Expression::parse("any(x, 'status ==')");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("in the predicate of any()"), std::string::npos)
      << parsed.error().message;
}

TEST(ExpressionFunctions, CountSumAndAverageAggregateLists) {
  EXPECT_EQ(eval("count(steps.fetch.data.items)"), Value(3));
  EXPECT_EQ(eval("count(steps.tests.results, 'status == \"passed\"')"), Value(1));
  EXPECT_EQ(eval("sum(steps.fetch.data.items)"), Value(60));
  EXPECT_EQ(eval("sum([1, 0.5])"), Value(1.5));
  EXPECT_EQ(eval("sum([])"), Value(0));
  EXPECT_EQ(eval("average(steps.fetch.data.items)"), Value(20.0));
  EXPECT_EQ(eval_error("average([])").message, "average() of an empty list");
  EXPECT_EQ(eval_error("sum([1, 'x'])").message,
            "sum() expects a list of numbers, got string \"x\"");
}

TEST(ExpressionFunctions, IsEmptyStartsWithAndEndsWith) {
  EXPECT_EQ(eval("isEmpty('')"), Value(true));
  EXPECT_EQ(eval("isEmpty([])"), Value(true));
  EXPECT_EQ(eval("isEmpty(null)"), Value(true));
  EXPECT_EQ(eval("isEmpty(0)"), Value(false));
  EXPECT_EQ(eval("isEmpty(steps.fetch.data)"), Value(false));
  EXPECT_EQ(eval("startsWith(inputs.topic, 'ca')"), Value(true));
  EXPECT_EQ(eval("endsWith(inputs.topic, 'ca')"), Value(false));
}

TEST(ExpressionFunctions, AnUnknownFunctionIsAParseErrorWithASuggestion) {
  auto parsed = Expression::parse("lenght(x)");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message,
            "bad expression \"lenght(x)\": unknown function \"lenght\" (did you mean "
            "\"length\"?) at column 1");
}

TEST(ExpressionFunctions, TheWrongNumberOfArgumentsIsAParseError) {
  auto parsed = Expression::parse("upper('a', 'b')");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("function \"upper\" takes 1 argument, got 2"),
            std::string::npos)
      << parsed.error().message;
  EXPECT_FALSE(Expression::parse("default(x)").ok());
}

// ---- syntax errors and limits ----

TEST(ExpressionSyntax, ErrorsNameTheColumn) {
  auto parsed = Expression::parse("a + ");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message,
            "bad expression \"a + \": expected a value, found the end at column 5");
  auto paren = Expression::parse("(1 + 2");
  ASSERT_FALSE(paren.ok());
  EXPECT_NE(paren.error().message.find("expected \")\""), std::string::npos);
}

TEST(ExpressionSyntax, SingleEqualsAndBangGetHelpfulMessages) {
  auto eq = Expression::parse("a = 1");
  ASSERT_FALSE(eq.ok());
  EXPECT_NE(eq.error().message.find("use \"==\""), std::string::npos);
  auto bang = Expression::parse("!a");
  ASSERT_FALSE(bang.ok());
  EXPECT_NE(bang.error().message.find("use \"not\""), std::string::npos);
}

TEST(ExpressionSyntax, PipelineExPreviousResponseSyntaxGetsAHint) {
  auto parsed = Expression::parse("previous_response:fetch.items");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("is written steps.NAME here"), std::string::npos);
}

TEST(ExpressionSyntax, UnterminatedStringsAndEmptyExpressionsAreErrors) {
  EXPECT_FALSE(Expression::parse("'abc").ok());
  EXPECT_FALSE(Expression::parse("   ").ok());
  EXPECT_FALSE(Expression::parse("a.").ok());
  EXPECT_FALSE(Expression::parse("a[1").ok());
  EXPECT_FALSE(Expression::parse("1 2").ok());
}

TEST(ExpressionSyntax, DeepNestingIsRefusedNotACrash) {
  std::string deep(1000, '(');
  deep += "1";
  deep += std::string(1000, ')');
  auto parsed = Expression::parse(deep);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("nests deeper"), std::string::npos);

  std::string negations;
  for (int i = 0; i < 1000; ++i) negations += "not ";
  negations += "true";
  EXPECT_FALSE(Expression::parse(negations).ok());
}

TEST(ExpressionSyntax, LongOperatorChainsAreRefusedNotACrash) {
  std::string chain = "1";
  for (int i = 0; i < 2000; ++i) chain += "+1";
  auto parsed = Expression::parse(chain);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("nests deeper than 256"), std::string::npos);
  std::string fine = "1";
  for (int i = 0; i < 200; ++i) fine += "+1";
  EXPECT_EQ(eval(fine), Value(201));
}

TEST(ExpressionSyntax, OverlongExpressionsAreRefused) {
  std::string text(kMaxExpressionLength + 1, 'a');
  auto parsed = Expression::parse(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("over the limit"), std::string::npos);
}

// ---- static references ----

TEST(ExpressionReferences, ListsEveryReferenceWithItsStaticPath) {
  auto parsed = Expression::parse("steps.a.data[0].x + length(inputs.list) + b.c[inputs.i]");
  ASSERT_TRUE(parsed.ok());
  auto refs = parsed->references();
  ASSERT_EQ(refs.size(), 4u);
  EXPECT_EQ(refs[0].text, "steps.a.data[0].x");
  EXPECT_EQ(refs[0].root, "steps");
  EXPECT_EQ(refs[0].path, (std::vector<std::string>{"a", "data", "0", "x"}));
  EXPECT_EQ(refs[1].root, "inputs");
  EXPECT_EQ(refs[2].root, "b");
  EXPECT_EQ(refs[2].path, (std::vector<std::string>{"c"}));
  EXPECT_EQ(refs[3].text, "inputs.i");
}

TEST(ExpressionReferences, DefaultAndExistsGuardTheirOperand) {
  auto parsed = Expression::parse("default(steps.a.x, steps.b.y) and steps.c exists");
  ASSERT_TRUE(parsed.ok());
  auto refs = parsed->references();
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_TRUE(refs[0].guarded);
  EXPECT_FALSE(refs[1].guarded);
  EXPECT_TRUE(refs[2].guarded);
}

TEST(ExpressionReferences, PredicateStringsAreNotRunReferences) {
  auto parsed = Expression::parse("any(steps.t.results, 'status == 1')");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->references().size(), 1u);
}

TEST(Expression, AParsedExpressionEvaluatesAgainstManyScopes) {
  auto parsed = Expression::parse("inputs.n * 2");
  ASSERT_TRUE(parsed.ok());
  Value a = json(R"({"inputs": {"n": 2}})");
  Value b = json(R"({"inputs": {"n": 5}})");
  EXPECT_EQ(*parsed->evaluate(ValueScope(a)), Value(4));
  EXPECT_EQ(*parsed->evaluate(ValueScope(b)), Value(10));
}

}  // namespace
}  // namespace pl::pipeline
