#include <gtest/gtest.h>

#include "common/config/section_reader.h"
#include "common/config/yaml_document.h"
#include "common/text.h"

namespace pl {
namespace {

YamlDocument parse(std::string_view text) {
  auto doc = parse_yaml(text, "c.yaml");
  EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.error().message);
  return std::move(*doc);
}

TEST(YamlDocument, TypesPlainScalarsByTheCoreSchema) {
  auto doc = parse("a: 5\nb: 2.5\nc: true\nd: ~\ne: text\nf: \"5\"\ng: -7\n");
  const Value& r = doc.root();
  EXPECT_EQ(*r.find("a"), Value(5));
  EXPECT_EQ(*r.find("b"), Value(2.5));
  EXPECT_EQ(*r.find("c"), Value(true));
  EXPECT_TRUE(r.find("d")->is_null());
  EXPECT_EQ(*r.find("e"), Value("text"));
  EXPECT_EQ(*r.find("f"), Value("5"));
  EXPECT_EQ(*r.find("g"), Value(-7));
}

TEST(YamlDocument, ReadsEveryCoreSchemaNumberForm) {
  auto doc = parse("a: 1e3\nb: .5\nc: 0x1F\nd: 0o17\ne: -1.5e2\nf: +12\ng: 1.\nh: 1e\ni: 12a\n");
  const Value& r = doc.root();
  EXPECT_EQ(*r.find("a"), Value(1000.0));
  EXPECT_EQ(*r.find("b"), Value(0.5));
  EXPECT_EQ(*r.find("c"), Value(31));
  EXPECT_EQ(*r.find("d"), Value(15));
  EXPECT_EQ(*r.find("e"), Value(-150.0));  // .inf and .nan: refused (below)
  EXPECT_EQ(*r.find("f"), Value(12));
  EXPECT_EQ(*r.find("g"), Value(1.0));
  EXPECT_EQ(*r.find("h"), Value("1e"));
  EXPECT_EQ(*r.find("i"), Value("12a"));
}

TEST(YamlDocument, KnowsWhereEachNodeIs) {
  auto doc = parse("top:\n  list:\n    - x\n    - y\n");
  auto where = doc.where("/top/list/1");
  EXPECT_EQ(where.line, 4);
  EXPECT_EQ(where.column, 7);
  EXPECT_EQ(doc.where_key("/top/list").line, 2);
  EXPECT_EQ(doc.where_key("/top/list").column, 3);
}

TEST(YamlDocument, SyntaxErrorNamesFileLineAndColumn) {
  auto doc = parse_yaml("a: [1, 2\nb: 3\n", "bad.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().message.rfind("bad.yaml:", 0), 0u) << doc.error().message;
}

// yaml-cpp lets a quoted string that never closes take the rest of the file when the file ends
// with a newline: a config that lost a quote would lose its later keys into a string.
TEST(YamlDocument, AQuotedStringThatNeverClosesIsAnError) {
  for (const char* text : {"a: \"x\nb: 3\n", "a: 'x\nb: 3\n",
                           "\xEF\xBB\xBF"
                           "a: \"x\nb: 3\n"}) {
    auto doc = parse_yaml(text, "q.yaml");
    ASSERT_FALSE(doc.ok()) << text;
    EXPECT_EQ(doc.error().message,
              "q.yaml:1:4: YAML syntax error: this quoted string has no closing quote (it runs to "
              "the end of the file)");
  }
  // Quotes that close, over lines, escaped or doubled, are fine.
  auto fine = parse_yaml("a: \"x \\\"y\\\"\n  z\"\nb: 'it''s'\nc: ''\n", "q.yaml");
  ASSERT_TRUE(fine.ok()) << fine.error().message;
  EXPECT_EQ(fine->root().get_string("a"), "x \"y\" z");
  EXPECT_EQ(fine->root().get_string("b"), "it's");
  EXPECT_EQ(fine->root().get_string("c"), "");
}

TEST(YamlDocument, DuplicateKeyIsAnError) {
  auto doc = parse_yaml("a: 1\na: 2\n", "d.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.error().message.find("d.yaml:2:1: duplicate key \"a\""), std::string::npos)
      << doc.error().message;
}

TEST(YamlDocument, AliasBombIsAnErrorNotAnOutOfMemory) {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    // "c: &c [*b, *b, ...]": ten aliases of the line before. Appended piece by piece: one long
    // chain of + on temporaries trips GCC 12's -Warray-bounds (a false positive).
    text.append(1, c).append(": &").append(1, c).append(" [");
    for (int n = 0; n < 10; ++n) text.append(n ? ", *" : "*").append(1, prev);
    text.append("]\n");
    prev = c;
  }
  auto doc = parse_yaml(text, "bomb.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.error().message.find("nodes"), std::string::npos) << doc.error().message;
}

TEST(YamlDocument, DeepNestingIsAnError) {
  auto parsed = parse_yaml(std::string(5000, '[') + std::string(5000, ']'), "deep.yaml");
  ASSERT_FALSE(parsed.ok());
  // Not yaml-cpp's own words for it ("bad file").
  EXPECT_NE(parsed.error().message.find("YAML nesting is too deep"), std::string::npos)
      << parsed.error().message;
  std::string block;
  for (int i = 0; i < 100; ++i) block += "- ";
  block += "x\n";
  EXPECT_FALSE(parse_yaml(block, "deep.yaml").ok());
}

TEST(YamlDocument, ANumberThatIsNotFiniteIsAnErrorNotANullLater) {
  for (const char* text :
       {"minimum: 1e400\n", "minimum: .inf\n", "minimum: -.inf\n", "minimum: .nan\n"}) {
    auto parsed = parse_yaml(text, "tool.yaml");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message.find("tool.yaml:1:10: "), std::string::npos)
        << parsed.error().message;
    EXPECT_NE(parsed.error().message.find("is not finite"), std::string::npos)
        << parsed.error().message;
  }
  EXPECT_TRUE(parse_yaml("minimum: 1.5e300\n", "tool.yaml").ok());
}

TEST(SectionReader, UnknownKeyIsReportedWithLocationAndSuggestion) {
  auto doc = parse("broker:\n  heartbeat_ms: 100\n  liveliness: 3\n");
  SectionReader r(doc, "/broker", {"heartbeat_ms", "liveness"});
  ASSERT_FALSE(r.status().ok());
  EXPECT_EQ(r.status().error().message,
            "c.yaml:3:3: unknown key \"broker.liveliness\" (did you mean \"liveness\"?)");
}

TEST(SectionReader, WrongKindAndRangeAreReportedTogether) {
  auto doc = parse("s:\n  a: text\n  b: -1\n");
  SectionReader r(doc, "/s", {"a", "b"});
  EXPECT_EQ(r.integer("a", 7), 7);
  EXPECT_EQ(r.integer("b", 9, 0, 10), 9);
  ASSERT_EQ(r.errors().size(), 2u);
  EXPECT_EQ(r.errors()[0], "c.yaml:2:6: s.a: expected an integer, got a string");
  EXPECT_NE(r.errors()[1].find("c.yaml:3:6: s.b: -1 is out of range"), std::string::npos);
  auto numbers = parse("s:\n  h: -3\n");
  SectionReader n(numbers, "/s", {"h"});
  EXPECT_EQ(n.number("h", 1.5, 0, 876000), 1.5);
  ASSERT_EQ(n.errors().size(), 1u);
  EXPECT_EQ(n.errors()[0], "c.yaml:2:6: s.h: -3 is out of range (0 to 876000)");
}

TEST(SectionReader, MissingSectionReadsFallbacks) {
  auto doc = parse("other: 1\n");
  SectionReader r(doc, "/broker", {"x"});
  EXPECT_EQ(r.integer("x", 42), 42);
  EXPECT_TRUE(r.status().ok());
}

// An endpoint the program could never bind or reach is a config error, found by --check.
TEST(SectionReader, EndpointsAreIpcPathsOrTcpHostsWithAPort) {
  auto doc = parse(
      "s:\n  a: garbage\n  b: tcp://127.0.0.1:99999\n  c: tcp://:5\n  d: ipc://\n"
      "  ok1: ipc:///run/x.sock\n  ok2: tcp://127.0.0.1:*\n  ok3: tcp://broker.internal:7001\n");
  SectionReader r(doc, "/s", {"a", "b", "c", "d", "ok1", "ok2", "ok3"});
  for (const char* bad : {"a", "b", "c", "d"}) EXPECT_EQ(r.endpoint(bad), "") << bad;
  EXPECT_EQ(r.endpoint("ok1"), "ipc:///run/x.sock");
  EXPECT_EQ(r.endpoint("ok2"), "tcp://127.0.0.1:*");
  EXPECT_EQ(r.endpoint("ok3"), "tcp://broker.internal:7001");
  EXPECT_EQ(r.endpoint("absent"), "");
  ASSERT_EQ(r.errors().size(), 4u);
  EXPECT_EQ(r.errors()[0],
            "c.yaml:2:6: s.a: expected ipc://PATH or tcp://HOST:PORT, got \"garbage\"");
  EXPECT_NE(r.errors()[1].find("s.b: the port \"99999\" is not 1 to 65535"), std::string::npos);
  EXPECT_NE(r.errors()[2].find("s.c: expected tcp://HOST:PORT"), std::string::npos);
  EXPECT_NE(r.errors()[3].find("s.d: an ipc:// endpoint needs a path"), std::string::npos);
}

TEST(SectionReader, ChoiceListsTheAlternatives) {
  auto doc = parse("s:\n  mode: one_for_al\n");
  SectionReader r(doc, "/s", {"mode"});
  r.choice("mode", "one_for_one", {"one_for_one", "one_for_all", "rest_for_one"});
  ASSERT_EQ(r.errors().size(), 1u);
  EXPECT_NE(r.errors()[0].find("did you mean \"one_for_all\""), std::string::npos) << r.errors()[0];
}

TEST(SectionReader, ArgvNumbersBecomeText) {
  auto doc = parse("s:\n  command: [sleep, 5]\n");
  SectionReader r(doc, "/s", {"command"});
  EXPECT_EQ(r.string_list("command"), (std::vector<std::string>{"sleep", "5"}));
}

TEST(Text, NearestWordFindsTyposOnly) {
  EXPECT_EQ(nearest_word("ecko", {"echo", "claude"}), "echo");
  EXPECT_EQ(nearest_word("zzzzzz", {"echo", "claude"}), "");
}

}  // namespace
}  // namespace pl
