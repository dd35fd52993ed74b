#include "common/json.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pl {
namespace {

TEST(Json, RoundTripsEveryKind) {
  const std::string text =
      R"({"a":[1,2.5,true,false,null],"b":{"c":"d\n\"e\""},"i":-9223372036854775808})";
  auto v = parse_json(text);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(to_json(*v), text);
}

TEST(Json, DoublesStayDoublesAfterARoundTrip) {
  auto v = parse_json("3.0");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_double());
  EXPECT_EQ(to_json(*v), "3.0");
}

TEST(Json, SyntaxErrorNamesLineAndColumn) {
  auto v = parse_json("{\n  \"a\": 1,\n  oops\n}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(v.error().message.find("line 3"), std::string::npos) << v.error().message;
}

TEST(Json, NestingBeyondTheLimitIsAnErrorNotACrash) {
  std::string deep(100000, '[');
  auto v = parse_json(deep, 64);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("nesting"), std::string::npos) << v.error().message;
}

TEST(Json, AKeyTwiceInOneObjectIsAnErrorNotTheLastOneWinning) {
  auto v = parse_json(R"({"who": "a", "n": {"x": 1, "x": {}}, "who": "b"})");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().message, "invalid JSON: duplicate key \"x\"");
  auto outer = parse_json(R"({"who": "a", "who": "b"})");
  ASSERT_FALSE(outer.ok());
  EXPECT_EQ(outer.error().message, "invalid JSON: duplicate key \"who\"");
  EXPECT_TRUE(parse_json(R"([{"k": 1}, {"k": 2}])").ok());  // one key per object
}

TEST(Json, TruncatedDocumentIsAnError) {
  EXPECT_FALSE(parse_json(R"({"a": [1, 2)").ok());
  EXPECT_FALSE(parse_json("").ok());
}

TEST(Json, InvalidUtf8IsReplacedWhenWriting) {
  EXPECT_EQ(to_json(Value(std::string("a\xff" "b"))), "\"a\xef\xbf\xbd" "b\"");
  EXPECT_EQ(to_json(Value(std::string("\xc3\xa9"))), "\"\xc3\xa9\"");
}

TEST(Json, ControlCharactersAreEscaped) {
  EXPECT_EQ(to_json(Value(std::string("\x01", 1))), "\"\\u0001\"");
}

TEST(Json, EscapesBetweenRunsOfPlainTextAndEveryAsciiCharacterRoundTrips) {
  EXPECT_EQ(to_json(Value(std::string("say \"hi\"\\ now\n\x7f"))),
            "\"say \\\"hi\\\"\\\\ now\\n\x7f\"");
  EXPECT_EQ(to_json(Value(std::string("\tab\xc3\xa9z\x1f"))), "\"\\tab\xc3\xa9z\\u001f\"");
  std::string every;
  for (int c = 0; c < 0x80; ++c) every += std::string("x") + static_cast<char>(c) + "yz";
  auto back = parse_json(to_json(Value(every)));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, Value(every));
}

// parse_json reads a lone plain scalar (most lines of an items file) without the general
// parser; inside an array the general parser reads the same text. Both must agree on every
// text, in what they accept and in what they make of it.
TEST(Json, ALoneScalarIsReadAsTheGeneralParserReadsItInsideAList) {
  std::vector<std::string> texts = {"0",
                                    "-0",
                                    "7",
                                    "-7",
                                    "123456",
                                    "999999999999999999",
                                    "-999999999999999999",
                                    "1000000000000000000",
                                    "9223372036854775807",
                                    "9223372036854775808",
                                    "-9223372036854775808",
                                    "01",
                                    "-",
                                    "--1",
                                    "1-",
                                    "+1",
                                    "1.0",
                                    "1e3",
                                    "0x10",
                                    " 42 ",
                                    "\t42\r\n",
                                    "4 2",
                                    "\"\"",
                                    "\"abc\"",
                                    "\" spaces and ~!@#$%^&*() \"",
                                    "\"a\\\"b\"",
                                    "\"tab\there\"",
                                    "\"caf\xc3\xa9\"",
                                    "\"\xff\"",
                                    "\"unterminated",
                                    "\"",
                                    "true",
                                    "false",
                                    "null",
                                    "True",
                                    "nul",
                                    "truex",
                                    "\"a\" \"b\"",
                                    "",
                                    "  "};
  // And many short texts drawn from the characters that make the cases above.
  const std::string alphabet = "0123456789-\" \\a.e+tn\x80";
  uint64_t state = 0x9e3779b97f4a7c15;
  for (int n = 0; n < 20000; ++n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    std::string text;
    for (uint64_t bits = state >> 8, len = (state >> 60) % 7; len > 0;
         --len, bits /= alphabet.size()) {
      text.push_back(alphabet[bits % alphabet.size()]);
    }
    texts.push_back(text);
  }
  for (const std::string& text : texts) {
    if (text.find_first_of("[],") != std::string::npos) continue;
    auto alone = parse_json(text);
    auto listed = parse_json("[" + text + "]");
    const bool one_element = listed.ok() && listed->as_array().size() == 1;
    ASSERT_EQ(alone.ok(), one_element) << "'" << text << "'";
    if (!alone.ok()) continue;
    EXPECT_EQ(alone->kind(), listed->as_array()[0].kind()) << "'" << text << "'";
    EXPECT_EQ(*alone, listed->as_array()[0]) << "'" << text << "'";
  }
}

TEST(Json, APlainIntegerLineIsAnInteger) {
  auto v = parse_json("  -123456789012345678\n");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->is_int());
  EXPECT_EQ(v->as_int(), -123456789012345678);
  auto s = parse_json("\"item-7\"");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->as_string(), "item-7");
  auto bad = parse_json("012");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("invalid JSON"), std::string::npos) << bad.error().message;
}

TEST(Json, HugeUnsignedBecomesDouble) {
  auto v = parse_json("18446744073709551615");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_double());
}

TEST(Json, PrettyPrintsWithTwoSpaceIndent) {
  Value v;
  v["a"] = Value(Value::Array{1, 2});
  EXPECT_EQ(to_json(v, JsonStyle::kPretty), "{\n  \"a\": [\n    1,\n    2\n  ]\n}");
}

}  // namespace
}  // namespace pl

namespace pl {
namespace {

TEST(Json, APrettyPartWrittenAtItsDepthIsWhatTheWholeDocumentHoldsThere) {
  Value item;
  item["id"] = "run-1/s0";
  item["result"]["steps"] = Value::array();
  item["result"]["steps"].push_back(Value(1));
  item["result"]["text"] = "a\nb";
  Value whole;
  whole["items"] = Value::array();
  whole["items"].push_back(item);
  std::string streamed = "{\n  \"items\": [\n    ";
  append_pretty_json_at(streamed, item, 2);
  streamed += "\n  ]\n}";
  EXPECT_EQ(streamed, to_json(whole, JsonStyle::kPretty));
}

}  // namespace
}  // namespace pl
