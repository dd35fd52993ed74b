// MsgpackWriter writes what msgpack-c's packer wrote before it: the same bytes for every form,
// at each boundary where the form changes. (Stored results and packed contexts are compared
// and digested as bytes, so the bytes, not only their meaning, must stay the same.)
#include "common/protocol/msgpack_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <msgpack.hpp>
#include <string>
#include <vector>

namespace pl::protocol {
namespace {

struct Sink {
  std::string* out;
  void write(const char* data, size_t size) { out->append(data, size); }
};

template <class WithPacker, class WithWriter>
void expect_same_bytes(WithPacker with_packer, WithWriter with_writer, const std::string& what) {
  std::string expected;
  Sink sink{&expected};
  msgpack::packer<Sink> packer(sink);
  with_packer(packer);
  std::string written;
  MsgpackWriter writer(written);
  with_writer(writer);
  EXPECT_EQ(written, expected) << what;
}

std::vector<int64_t> integer_boundaries() {
  std::vector<int64_t> values;
  for (int64_t edge : {int64_t{0}, int64_t{-32}, int64_t{-33}, int64_t{127}, int64_t{128},
                       int64_t{-128}, int64_t{-129}, int64_t{255}, int64_t{256}, int64_t{-32768},
                       int64_t{-32769}, int64_t{65535}, int64_t{65536}, int64_t{INT32_MIN},
                       int64_t{INT32_MIN} - 1, int64_t{UINT32_MAX}, int64_t{UINT32_MAX} + 1,
                       std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}) {
    for (int64_t step : {-1, 0, 1}) {
      // Steps past either end of int64 are left out rather than wrapped.
      if ((step < 0 && edge == std::numeric_limits<int64_t>::min()) ||
          (step > 0 && edge == std::numeric_limits<int64_t>::max())) {
        continue;
      }
      values.push_back(edge + step);
    }
  }
  return values;
}

TEST(MsgpackWriter, IntegersTakeMsgpackCsSmallestForm) {
  for (int64_t v : integer_boundaries()) {
    expect_same_bytes([v](auto& p) { p.pack_int64(v); }, [v](auto& w) { w.integer(v); },
                      "integer " + std::to_string(v));
    if (v >= 0) {
      const auto u = static_cast<uint64_t>(v);
      expect_same_bytes([u](auto& p) { p.pack_uint64(u); }, [u](auto& w) { w.unsigned_integer(u); },
                        "unsigned " + std::to_string(u));
    }
  }
}

TEST(MsgpackWriter, StringsArraysAndMapsTakeTheHeaderOfTheirLength) {
  for (size_t n : {0, 1, 31, 32, 255, 256, 65535, 65536, 70000}) {
    const std::string s(n, 'x');
    expect_same_bytes(
        [&s](auto& p) {
          p.pack_str(static_cast<uint32_t>(s.size()));
          p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
        },
        [&s](auto& w) { w.string(s); }, "string of " + std::to_string(n));
  }
  for (uint32_t n : {0u, 1u, 15u, 16u, 65535u, 65536u, 4000000000u}) {
    expect_same_bytes([n](auto& p) { p.pack_array(n); }, [n](auto& w) { w.array(n); },
                      "array of " + std::to_string(n));
    expect_same_bytes([n](auto& p) { p.pack_map(n); }, [n](auto& w) { w.map(n); },
                      "map of " + std::to_string(n));
  }
}

TEST(MsgpackWriter, ScalarsAndDoublesAsFloat64EvenWhenIntegral) {
  expect_same_bytes([](auto& p) { p.pack_nil(); }, [](auto& w) { w.nil(); }, "nil");
  expect_same_bytes([](auto& p) { p.pack_true(); }, [](auto& w) { w.boolean(true); }, "true");
  expect_same_bytes([](auto& p) { p.pack_false(); }, [](auto& w) { w.boolean(false); }, "false");
  std::string written;
  MsgpackWriter writer(written);
  writer.float64(3.0);
  EXPECT_EQ(written, std::string("\xcb\x40\x08\x00\x00\x00\x00\x00\x00", 9));
}

}  // namespace
}  // namespace pl::protocol
