// MsgpackReader::skip_at must accept exactly what read_at accepts, stop where it stops, and fail
// with the same error: the memo of a recovered run trusts it to find where each record ends. And
// read_into must make what read_at makes, the decoders of work items and results being built on it.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "common/protocol/envelope.h"
#include "common/protocol/msgpack_reader.h"

namespace pl::protocol {
namespace {

void expect_agreement(std::string_view bytes, const std::string& what) {
  const ReaderLimits limits{8, 64, 512};  // small, so that the limits are met too
  MsgpackReader reading(bytes, limits);
  MsgpackReader skipping(bytes, limits);
  auto read = reading.read_at(1);
  auto skipped = skipping.skip_at(1);
  ASSERT_EQ(read.ok(), skipped.ok()) << what;
  if (read.ok()) {
    EXPECT_EQ(reading.position(), skipping.position()) << what;
  } else {
    EXPECT_EQ(read.error().message, skipped.error().message) << what;
    EXPECT_EQ(read.error().code, skipped.error().code) << what;
  }
}

Value random_value(std::mt19937_64& random, int depth) {
  switch (random() % (depth > 4 ? 5 : 7)) {
    case 0: return Value();
    case 1: return Value(random() % 2 == 0);
    case 2: return Value(static_cast<int64_t>(random()) >> (random() % 64));
    case 3: return Value(static_cast<double>(random() % 1000) / 7);
    case 4: return Value(std::string(random() % 600, 'x'));
    case 5: {
      Value::Array a;
      for (size_t i = random() % 70; i > 0; --i) a.push_back(random_value(random, depth + 1));
      return Value(std::move(a));
    }
    default: {
      Value o = Value::object();
      for (size_t i = random() % 70; i > 0; --i) {
        o["k" + std::to_string(random() % 100)] = random_value(random, depth + 1);
      }
      return o;
    }
  }
}

TEST(MsgpackSkip, AgreesWithReadingOnRandomValuesTheirTruncationsAndChangedBytes) {
  std::mt19937_64 random(11);
  for (int n = 0; n < 150; ++n) {
    const std::string bytes = encode_value(random_value(random, 1));
    expect_agreement(bytes, "value " + std::to_string(n));
    if (n % 10 != 0) continue;
    for (size_t cut = 0; cut < bytes.size(); cut += 1 + bytes.size() / 50) {
      expect_agreement(std::string_view(bytes).substr(0, cut), "value " + std::to_string(n) + " cut");
    }
    for (int change = 0; change < 50 && !bytes.empty(); ++change) {
      std::string changed = bytes;
      changed[random() % changed.size()] = static_cast<char>(random());
      expect_agreement(changed, "value " + std::to_string(n) + " changed");
    }
  }
}

TEST(MsgpackSkip, AgreesWithReadingOnEveryFirstByte) {
  // Each tag followed by enough bytes for its widest header and a little payload.
  for (int tag = 0; tag < 256; ++tag) {
    std::string bytes(1, static_cast<char>(tag));
    expect_agreement(bytes, "tag " + std::to_string(tag) + " alone");
    bytes += std::string("\x00\x00\x00\x02" "ab", 6);
    expect_agreement(bytes, "tag " + std::to_string(tag));
  }
}

TEST(MsgpackRead, IntoAValueReplacesWhatItHeldAsReadingAtDoes) {
  std::mt19937_64 random(5);
  for (int n = 0; n < 40; ++n) {
    const std::string bytes = encode_value(random_value(random, 1));
    MsgpackReader reading(bytes, ReaderLimits{});
    MsgpackReader into(bytes, ReaderLimits{});
    auto read = reading.read_at(1);
    Value held = random_value(random, 1);  // whatever it held goes
    ASSERT_TRUE(read.ok());
    ASSERT_TRUE(into.read_into(held, 1).ok());
    EXPECT_EQ(encode_value(held), encode_value(*read)) << n;
    EXPECT_EQ(into.position(), bytes.size());
  }
}

TEST(MsgpackRead, ARepeatedKeyKeepsItsLastValueWhereverItComes) {
  // {"b": 1, "a": 2, "b": [3]}: keys out of order, one twice.
  const std::string bytes(
      "\x83\xa1"
      "b"
      "\x01\xa1"
      "a"
      "\x02\xa1"
      "b"
      "\x91\x03",
      12);
  auto read = MsgpackReader(bytes, ReaderLimits{}).read_at(1);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->size(), 2u);
  EXPECT_EQ(read->get_int("a"), 2);
  ASSERT_TRUE(read->find("b") && read->find("b")->is_array());
  EXPECT_EQ(read->find("b")->as_array().at(0).as_int(), 3);
}

TEST(MsgpackRead, AReadAfterAFailureStartsWhereTheFailureStopped) {
  // A map whose key is no string: the reader stays at that key, and what follows reads well.
  const std::string bytes(
      "\x81\x01\x02\xa2"
      "ok",
      6);
  MsgpackReader reader(bytes, ReaderLimits{});
  auto first = reader.read_at(1);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().message, "body: a map key is not a string");
  auto second = reader.read_key();
  ASSERT_FALSE(second.ok());  // still at the integer key
  EXPECT_EQ(second.error().message, "body: a map key is not a string");
  EXPECT_TRUE(reader.skip_at(1).ok());
  auto third = reader.read_at(1);
  ASSERT_TRUE(third.ok()) << third.error().message;
  auto fourth = reader.read_at(1);
  ASSERT_TRUE(fourth.ok()) << fourth.error().message;
  EXPECT_EQ(fourth->as_string(), "ok");
}

}  // namespace
}  // namespace pl::protocol
