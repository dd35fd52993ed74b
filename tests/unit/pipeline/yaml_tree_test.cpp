#include "common/pipeline/yaml_tree.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace pl::pipeline {
namespace {

using testing::all_messages;
using testing::json;

YamlNode parse(std::string_view text) {
  YamlDocument doc = parse_yaml(text, "t.yaml");
  EXPECT_TRUE(doc.root.has_value()) << all_messages(doc.diagnostics);
  return doc.root ? *doc.root : YamlNode();
}

Value scalar(std::string_view text) { return parse(text).scalar_value(); }

TEST(YamlTree, PlainScalarsFollowTheCoreSchema) {
  EXPECT_EQ(scalar("~"), Value());
  EXPECT_EQ(scalar("null"), Value());
  EXPECT_EQ(scalar("NULL"), Value());
  EXPECT_EQ(scalar("true"), Value(true));
  EXPECT_EQ(scalar("False"), Value(false));
  EXPECT_EQ(scalar("42"), Value(42));
  EXPECT_EQ(scalar("-17"), Value(-17));
  EXPECT_EQ(scalar("+5"), Value(5));
  EXPECT_EQ(scalar("0x1F"), Value(31));
  EXPECT_EQ(scalar("0o17"), Value(15));
  EXPECT_EQ(scalar("1.5"), Value(1.5));
  EXPECT_EQ(scalar("-.5"), Value(-0.5));
  EXPECT_EQ(scalar("1e3"), Value(1000.0));
  EXPECT_TRUE(std::isinf(scalar(".inf").as_double()));
  EXPECT_TRUE(std::isnan(scalar(".nan").as_double()));
}

TEST(YamlTree, YamlOneOneSpellingsStayStrings) {
  EXPECT_EQ(scalar("yes"), Value("yes"));
  EXPECT_EQ(scalar("off"), Value("off"));
  EXPECT_EQ(scalar("1_000"), Value("1_000"));
  EXPECT_EQ(scalar("0b101"), Value("0b101"));
  EXPECT_EQ(scalar("1.2.3"), Value("1.2.3"));
}

TEST(YamlTree, IntegersTooLargeForSixtyFourBitsStayText) {
  EXPECT_EQ(scalar("99999999999999999999"), Value("99999999999999999999"));
  EXPECT_EQ(scalar("-9223372036854775808"), Value(INT64_MIN));
}

TEST(YamlTree, QuotedAndBlockScalarsAreAlwaysStrings) {
  EXPECT_EQ(scalar("'42'"), Value("42"));
  EXPECT_EQ(scalar("\"true\""), Value("true"));
  EXPECT_EQ(scalar("!!str 7"), Value("7"));
  EXPECT_EQ(scalar("|\n  12\n"), Value("12\n"));
}

TEST(YamlTree, AQuotedStringThatNeverClosesIsAnErrorNotTheRestOfTheFile) {
  const std::string text =
      "steps:\n  - name: a\n    value: \"unterminated\n  - name: b\n    value: 2\n";
  YamlDocument doc = parse_yaml(text, "t.yaml");
  EXPECT_FALSE(doc.root.has_value());
  EXPECT_EQ(all_messages(doc.diagnostics),
            "t.yaml:3:12: error: YAML syntax error: this quoted string has no closing quote (it "
            "runs to the end of the file)\n");
  EXPECT_EQ(scalar("'it''s'"), Value("it's"));
  EXPECT_EQ(scalar("\"a \\\"b\\\"\n  c\"\n"), Value("a \"b\" c"));
}

TEST(YamlTree, NodesRememberOneBasedLinesAndColumns) {
  YamlNode root = parse("a:\n  b: [1, 2]\n  c: x\n");
  const YamlMember* a = root.member("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->key_where, (SourceLocation{"t.yaml", 1, 1}));
  const YamlMember* b = a->value.member("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->key_where, (SourceLocation{"t.yaml", 2, 3}));
  EXPECT_EQ(b->value.where, (SourceLocation{"t.yaml", 2, 6}));
  EXPECT_EQ(b->value.items[1].where, (SourceLocation{"t.yaml", 2, 10}));
}

TEST(YamlTree, AnEmptyValueIsNullAtItsKey) {
  YamlNode root = parse("a:\nb: 1\n");
  const YamlMember* a = root.member("a");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->value.is_null());
  EXPECT_EQ(a->value.where, a->key_where);
}

TEST(YamlTree, ToValueConvertsTheWholeTree) {
  EXPECT_EQ(parse("{a: [1, 'x', ~], b: {c: true}}").to_value(),
            json(R"({"a": [1, "x", null], "b": {"c": true}})"));
}

TEST(YamlTree, MembersKeepFileOrder) {
  YamlNode root = parse("z: 1\na: 2\nm: 3\n");
  ASSERT_EQ(root.members.size(), 3u);
  EXPECT_EQ(root.members[0].key, "z");
  EXPECT_EQ(root.members[2].key, "m");
}

TEST(YamlTree, DuplicateKeysAreErrorsAndTheFirstIsKept) {
  YamlDocument doc = parse_yaml("a: 1\nb: 2\na: 3\n", "t.yaml");
  ASSERT_TRUE(doc.root.has_value());
  ASSERT_EQ(doc.diagnostics.size(), 1u);
  EXPECT_EQ(format_diagnostic(doc.diagnostics[0]),
            "t.yaml:3:1: error: duplicate key \"a\" (first at t.yaml:1:1)");
  EXPECT_EQ(doc.root->find("a")->scalar_value(), Value(1));
}

TEST(YamlTree, AliasesAreExpandedAndMergeKeysMerge) {
  YamlNode root = parse("base: &b {x: 1, y: 2}\ncopy: *b\nmerged: {<<: *b, y: 3}\n");
  EXPECT_EQ(root.find("copy")->to_value(), json(R"({"x": 1, "y": 2})"));
  EXPECT_EQ(root.find("merged")->to_value(), json(R"({"x": 1, "y": 3})"));
}

TEST(YamlTree, MergingSomethingThatIsNotAMapIsAnError) {
  YamlDocument doc = parse_yaml("a: {<<: 5}\n", "t.yaml");
  EXPECT_NE(all_messages(doc.diagnostics).find("\"<<\" merges a map or a list of maps"),
            std::string::npos);
}

TEST(YamlTree, NonScalarKeysAreErrors) {
  YamlDocument doc = parse_yaml("? [a, b]\n: c\n", "t.yaml");
  EXPECT_NE(all_messages(doc.diagnostics).find("map keys must be plain names, got a list"),
            std::string::npos);
}

TEST(YamlTree, UnknownTagsAreIgnoredWithAWarning) {
  YamlDocument doc = parse_yaml("a: !include other.yaml\n", "t.yaml");
  ASSERT_EQ(doc.diagnostics.size(), 1u);
  EXPECT_EQ(doc.diagnostics[0].severity, Severity::kWarning);
  EXPECT_NE(doc.diagnostics[0].message.find("YAML tag \"!include\" is ignored"), std::string::npos);
}

TEST(YamlTree, DescribeNamesTheKindAndAnExcerpt) {
  EXPECT_EQ(parse("hello").describe(), "string \"hello\"");
  EXPECT_EQ(parse("5").describe(), "integer 5");
  EXPECT_EQ(parse("[1]").describe(), "list");
  EXPECT_EQ(parse("{a: 1}").describe(), "map");
  EXPECT_EQ(parse(std::string(60, 'x')).describe(), "string \"" + std::string(40, 'x') + "...\"");
}

}  // namespace
}  // namespace pl::pipeline
