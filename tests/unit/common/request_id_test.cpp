#include "common/protocol/request_id.h"

#include <gtest/gtest.h>

#include <random>

#include "common/protocol/envelope.h"

namespace pl::protocol {
namespace {

// [version, type, body] with any header, the body packed by our encoder.
std::string frame(std::string header, const Value& body) {
  return "\x93" + header + encode_value(body);
}

Value with_request(Value id) {
  Value body;
  body["command"] = "status";
  body["args"]["deep"] = Value(Value::Array{1, "two"});
  body["request"] = std::move(id);
  return body;
}

TEST(SalvageRequestId, ReadsTheIdOfAnotherProtocolVersion) {
  const std::string bytes = frame("\x02\xcc\xcc", with_request("c-v2"));
  ASSERT_FALSE(decode(bytes).ok());
  EXPECT_EQ(salvage_request_id(bytes), "c-v2");
}

TEST(SalvageRequestId, ReadsTheIdOfAnUnknownMessageType) {
  const std::string bytes = frame(std::string("\x01\xcd\x03\xe7", 4), with_request("c-999"));
  ASSERT_FALSE(decode(bytes).ok());
  EXPECT_EQ(salvage_request_id(bytes), "c-999");
}

TEST(SalvageRequestId, ReadsWhatDecodeReadsFromAGoodFrame) {
  EXPECT_EQ(salvage_request_id(encode(MessageType::kControlRequest, with_request("ok-1"))),
            "ok-1");
}

TEST(SalvageRequestId, ReadsTheIdDespiteTrailingBytes) {
  EXPECT_EQ(salvage_request_id(frame("\x02\x01", with_request("t")) + "junk"), "t");
}

TEST(SalvageRequestId, FindsNoIdWhereThereIsNoReadableStringOne) {
  EXPECT_EQ(salvage_request_id(frame("\x02\x01", with_request(42))), std::nullopt);
  EXPECT_EQ(salvage_request_id(frame("\x02\x01", with_request(std::string(300, 'x')))),
            std::nullopt);
  EXPECT_EQ(salvage_request_id(frame("\x02\x01", Value(Value::Array{"request", "x"}))),
            std::nullopt);
  EXPECT_EQ(salvage_request_id(std::string("\x92\x01\x81\xa7request\xa1x", 13)), std::nullopt);
  EXPECT_EQ(salvage_request_id(""), std::nullopt);
  // A member that cannot be read (a binary value) hides what follows it.
  const std::string binary_first("\x93\x02\x01\x82\xa1" "a\xc4\x01z\xa7request\xa1x", 19);
  EXPECT_EQ(salvage_request_id(binary_first), std::nullopt);
}

TEST(SalvageRequestId, TheLastOfARepeatedKeyCountsAsInDecode) {
  const std::string bytes("\x93\x02\x01\x82\xa7request\xa1" "a\xa7request\xa1" "b", 24);
  EXPECT_EQ(salvage_request_id(bytes), "b");
}

TEST(SalvageRequestId, NeverFailsOnTruncationsOrGarbage) {
  const std::string good = frame("\x02\xcc\xcc", with_request("r"));
  for (size_t n = 0; n < good.size(); ++n) (void)salvage_request_id(good.substr(0, n));
  std::mt19937 random(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = good;
    bytes[random() % bytes.size()] = static_cast<char>(random());
    (void)salvage_request_id(bytes);
  }
  // Nesting far past the limit is refused, not followed.
  EXPECT_EQ(salvage_request_id("\x93" + std::string(100000, '\x91')), std::nullopt);
}

}  // namespace
}  // namespace pl::protocol
