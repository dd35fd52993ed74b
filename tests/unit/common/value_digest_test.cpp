// value_digest is stored with every item result and compared by later lives of a run, possibly
// run by a newer broker: its output must never change, and it must tell inputs apart.
#include "common/value_digest.h"

#include <gtest/gtest.h>

#include "common/json.h"

namespace pl {
namespace {

Value json(const char* text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Value();
}

TEST(ValueDigest, IsFrozen) {
  // Recorded by this implementation; a change here makes every stored result look changed
  // and a resumed or recovered run do its paid work again.
  EXPECT_EQ(digest_text(value_digest(Value())), "23402bb5c04b8de6");
  EXPECT_EQ(digest_text(value_digest(json(R"({"type":"echo","value":"a","n":[1,2.5,true,null]})"))),
            "2482cf0771fb2609");
}

TEST(ValueDigest, TellsKindsAndShapesApart) {
  const std::vector<Value> distinct = {
      Value(),         Value(false),    Value(true),      Value(1),          Value(1.0),
      Value("1"),      Value(""),       json("[]"),       json("{}"),        json("[[]]"),
      json("[1,2]"),   json("[2,1]"),   json("[12]"),     json(R"(["ab","c"])"), json(R"(["a","bc"])"),
      json(R"({"a":1})"), json(R"({"b":1})"), json(R"({"a":2})"), json(R"({"a":{"b":1}})"),
      Value(std::string(8, 'x')), Value(std::string(9, 'x')), Value(std::string(7, 'x')),
      Value(std::string("x\0", 2)),
  };
  for (size_t i = 0; i < distinct.size(); ++i) {
    for (size_t j = i + 1; j < distinct.size(); ++j) {
      EXPECT_NE(value_digest(distinct[i]), value_digest(distinct[j]))
          << to_json(distinct[i]) << " and " << to_json(distinct[j]);
    }
  }
}

TEST(ValueDigest, EqualValuesHaveEqualDigests) {
  EXPECT_EQ(value_digest(json(R"({"b":[1,"x"],"a":null})")), value_digest(json(R"({"a":null,"b":[1,"x"]})")));
  EXPECT_EQ(value_digest(Value(std::string(1000, 'q'))), value_digest(Value(std::string(1000, 'q'))));
}

TEST(ValueDigest, TextIsSixteenHexDigits) {
  EXPECT_EQ(digest_text(0), "0000000000000000");
  EXPECT_EQ(digest_text(0x0123456789abcdefULL), "0123456789abcdef");
}

}  // namespace
}  // namespace pl
