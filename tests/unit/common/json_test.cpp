#include "common/json.h"

#include <gtest/gtest.h>

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
