// MsgpackReader::skip_at must accept exactly what read_at accepts, stop where it stops, and fail
// with the same error: the memo of a recovered run trusts it to find where each record ends.
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

}  // namespace
}  // namespace pl::protocol
