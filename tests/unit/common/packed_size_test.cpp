#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <random>

#include "common/protocol/envelope.h"

namespace pl::protocol {
namespace {

// packed_size must be exactly what encode_value writes, at every width edge of every kind.
void expect_same_size(const Value& v, const std::string& what) {
  EXPECT_EQ(packed_size(v), encode_value(v).size()) << what;
}

TEST(PackedSize, IsTheEncodedSizeAtEveryWidthOfEveryKind) {
  for (int64_t v : {int64_t{0}, int64_t{127}, int64_t{128}, int64_t{255}, int64_t{256},
                    int64_t{65535}, int64_t{65536}, int64_t{4294967295}, int64_t{4294967296},
                    INT64_MAX, int64_t{-1}, int64_t{-32}, int64_t{-33}, int64_t{-128},
                    int64_t{-129}, int64_t{-32768}, int64_t{-32769}, int64_t{-2147483648LL},
                    int64_t{-2147483649LL}, INT64_MIN}) {
    expect_same_size(Value(v), "int " + std::to_string(v));
  }
  for (double d : {0.0, 3.0, -1.5, 1e300}) expect_same_size(Value(d), "double");
  expect_same_size(Value(), "null");
  expect_same_size(Value(true), "true");
  for (size_t n : {0, 31, 32, 255, 256, 65535, 65536}) {
    expect_same_size(Value(std::string(n, 'x')), "string of " + std::to_string(n));
    Value::Array array(n, Value(1));
    expect_same_size(Value(array), "array of " + std::to_string(n));
    Value object = Value::object();
    for (size_t i = 0; i < n; ++i) object["k" + std::to_string(i)] = static_cast<int64_t>(i);
    expect_same_size(object, "object of " + std::to_string(n));
  }
  Value long_keys;
  long_keys[std::string(40, 'k')] = "v";
  long_keys[std::string(300, 'k')] = Value::array();
  expect_same_size(long_keys, "long keys");
}

TEST(PackedSize, IsTheEncodedSizeOfRandomNestedValues) {
  std::mt19937_64 random(7);
  std::function<Value(int)> make = [&](int depth) -> Value {
    switch (random() % (depth > 3 ? 5 : 7)) {
      case 0: return Value();
      case 1: return Value(random() % 2 == 0);
      case 2: return Value(static_cast<int64_t>(random()) >> (random() % 64));
      case 3: return Value(static_cast<double>(random() % 1000) / 7);
      case 4: return Value(std::string(random() % 300, 'x'));
      case 5: {
        Value::Array a;
        for (size_t i = random() % 20; i > 0; --i) a.push_back(make(depth + 1));
        return Value(std::move(a));
      }
      default: {
        Value o = Value::object();
        for (size_t i = random() % 20; i > 0; --i) o["k" + std::to_string(random() % 50)] = make(depth + 1);
        return o;
      }
    }
  };
  for (int i = 0; i < 500; ++i) expect_same_size(make(0), "random value " + std::to_string(i));
}

}  // namespace
}  // namespace pl::protocol
