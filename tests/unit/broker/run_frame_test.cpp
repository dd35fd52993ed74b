#include "broker/run_frame.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "common/pipeline/expression.h"

namespace pl::broker {
namespace {

// What a for_loop iteration's frame must show: what make_loop_frame builds.
Value built(const Value& item, int64_t index, int64_t total, const Value* parent) {
  return pipeline::make_loop_frame("x", item, index, total, parent);
}

const std::vector<std::string> kNames{"index", "total", "length", "first", "is_first", "last",
                                      "is_last", "parent", "x", "nope", "item"};

// The outer loop's iteration 1 of 2, holding {o: 7}.
struct Nested {
  Frame top;
  Frame outer;
  Value outer_item = *parse_json(R"({"o": 7})");
  Nested() {
    outer.outer = &top;
    outer.set_iteration("x", outer_item, 1, 2);
  }
  Frame inner(const Value& item, int64_t index, int64_t total) {
    Frame f;
    f.outer = &outer;
    f.set_iteration("x", item, index, total);
    return f;
  }
};

TEST(RunFrameTest, AnIterationsVariablesReadOneByOneAreWhatItsBuiltLoopValueHolds) {
  const Value item = *parse_json(R"({"n": 1, "tags": ["a"]})");
  for (auto [index, total] : {std::pair{0, 1}, {0, 3}, {1, 3}, {2, 3}}) {
    Nested nested;
    const Value outer_loop = built(nested.outer_item, 1, 2, nullptr);
    const Value expected = built(item, index, total, &outer_loop);
    Frame frame = nested.inner(item, index, total);
    for (const auto& name : kNames) {
      const Value* lazy = frame.loop_member(name);
      const Value* whole = expected.find(name);
      ASSERT_EQ(lazy == nullptr, whole == nullptr) << name << " at " << index << "/" << total;
      if (whole) {
        EXPECT_EQ(*lazy, *whole) << name << " at " << index << "/" << total;
      }
    }
    // Reading members builds nothing and loses nothing: the whole value is still exact.
    ASSERT_NE(frame.own_loop(), nullptr);
    EXPECT_EQ(*frame.own_loop(), expected);
    EXPECT_EQ(frame.innermost_loop(), frame.own_loop());
    // Once built, members come from the built value.
    EXPECT_EQ(frame.loop_member("x"), frame.own_loop()->find("x"));
  }
}

TEST(RunFrameTest, AFrameWithoutLoopVariablesReadsTheEnclosingLoops) {
  Nested nested;
  Frame step_frame;  // a sequence inside the outer iteration, with no loop of its own
  step_frame.outer = &nested.outer;
  ASSERT_NE(step_frame.loop_member("x"), nullptr);
  EXPECT_EQ(*step_frame.loop_member("x"), nested.outer_item);
  EXPECT_EQ(step_frame.loop_member("parent"), nullptr);  // the outer loop is the outermost
  EXPECT_EQ(nested.top.loop_member("index"), nullptr);
  EXPECT_EQ(nested.top.innermost_loop(), nullptr);

  Frame while_frame;  // a while_loop's iteration has its value from the start
  while_frame.outer = &nested.outer;
  while_frame.set_loop(pipeline::make_while_frame(4, nested.outer.innermost_loop()));
  ASSERT_NE(while_frame.loop_member("index"), nullptr);
  EXPECT_EQ(while_frame.loop_member("index")->as_int(), 4);
  EXPECT_EQ(while_frame.loop_member("parent")->find("x")->find("o")->as_int(), 7);
}

TEST(RunFrameTest, ExpressionsOverAnIterationGiveWhatTheyGiveOverItsBuiltValue) {
  const Value item = *parse_json(R"({"n": 1, "tags": ["a", "b"]})");
  const std::vector<std::string> expressions{
      "loop.x.n", "loop.x.tags[1]", "loop.index + loop.total", "loop.first and loop.last",
      "loop.parent.x.o", "loop['x'].n", "loop.x.missing", "loop.nope", "loop.indx", "loop.x.tags.n",
      "loop.0", "loop.parent.nope",
      // An index that reads the whole loop builds its value while a member is being walked.
      "loop.x.tags[length(loop) - 8]", "loop.x['tags'][length(loop) - 9]",
      "loop.x.tags[loop.index - 1]"};
  for (const auto& text : expressions) {
    Nested nested;
    Frame frame = nested.inner(item, 2, 3);
    FrameScope lazy(frame);
    auto got = pipeline::evaluate_expression(text, lazy);

    Value roots;
    const Value outer_loop = built(nested.outer_item, 1, 2, nullptr);
    roots["loop"] = built(item, 2, 3, &outer_loop);
    pipeline::ValueScope whole(roots);
    auto want = pipeline::evaluate_expression(text, whole);

    ASSERT_EQ(got.ok(), want.ok()) << text;
    if (want.ok()) {
      EXPECT_EQ(*got, *want) << text;
    } else {
      EXPECT_EQ(got.error().message, want.error().message) << text;
    }
  }
}

TEST(RunFrameTest, AnIndexThatReadsTheWholeLoopDoesNotLoseTheMemberBeingIndexed) {
  // The audit's example: loop.x, a list of 10, indexed by an expression over the whole `loop`
  // (8 members), which builds the loop value from the iteration's variables mid-walk.
  Value::Array ten;
  for (int i = 0; i < 10; ++i) ten.push_back(Value(i * 10));
  Frame top;
  Frame frame;
  frame.outer = &top;
  frame.set_iteration("x", Value(ten), 0, 1);
  FrameScope scope(frame);
  auto got = pipeline::evaluate_expression("loop.x[length(loop) - 8]", scope);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, Value(0));
  auto again = pipeline::evaluate_expression("loop.x[length(loop) - 1]", scope);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, Value(70));
}

TEST(RunFrameTest, ABareStepNameReadsItsDataMembersAsItsOwn) {
  Frame frame;
  frame.results["find"] = *parse_json(R"({"success": true, "data": {"files": ["a", "b"]}})");
  FrameScope scope(frame);
  auto bare = pipeline::evaluate_expression("find.files", scope);
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  EXPECT_EQ(*bare, *parse_json(R"(["a", "b"])"));
  auto under_steps = pipeline::evaluate_expression("steps.find.files", scope);
  ASSERT_TRUE(under_steps.ok()) << under_steps.error().message;
  EXPECT_EQ(*under_steps, *bare);
}

}  // namespace
}  // namespace pl::broker
