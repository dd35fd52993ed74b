#include "common/protocol/body_reader.h"

#include <gtest/gtest.h>

#include "common/protocol/envelope.h"

namespace pl::protocol {
namespace {

std::string integer_error(const Value& v) {
  Value body;
  body["n"] = v;
  BodyReader r(body, "m");
  (void)r.integer("n");
  return r.ok() ? "" : r.status().error().message;
}

TEST(BodyReader, ANumberThatIsNotAnIntegerSaysWhy) {
  EXPECT_EQ(integer_error(Value(int64_t{7})), "");
  EXPECT_EQ(integer_error(Value("7")), "m: field \"n\" is a string, expected an integer");
  EXPECT_EQ(integer_error(Value(2.5)), "m: field \"n\" is 2.5, expected an integer");
  // msgpack's uint64 past INT64_MAX arrives as a double.
  Value zero;
  zero["n"] = 0;
  std::string frame = encode(MessageType::kWatchRun, zero);
  ASSERT_EQ(frame.back(), '\0');  // the 0 of "n", last
  frame.back() = '\xcf';
  frame += std::string(8, '\xff');
  auto decoded = decode(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(integer_error(*decoded->body.find("n")),
            "m: field \"n\" is 1.8446744073709552e+19, beyond a 64-bit integer");
}

TEST(BodyReader, AnOptionalIntegerOfTheWrongKindIsAnError) {
  Value body;
  body["limit"] = 1e30;
  BodyReader r(body, "list_runs");
  EXPECT_EQ(r.optional_integer("limit", 50), 50);
  EXPECT_EQ(r.status().error().message,
            "list_runs: field \"limit\" is 1e+30, beyond a 64-bit integer");
}

}  // namespace
}  // namespace pl::protocol
