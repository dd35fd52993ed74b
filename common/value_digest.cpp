#include "common/value_digest.h"

#include <bit>
#include <cstring>

namespace pl {
namespace {

// MurmurHash64A's mixing (public domain), fed as a stream of 64-bit words.
constexpr uint64_t kMul = 0xc6a4a7935bd1e995ULL;
constexpr int kShift = 47;

class Digest {
 public:
  void word(uint64_t k) {
    k *= kMul;
    k ^= k >> kShift;
    k *= kMul;
    h_ ^= k;
    h_ *= kMul;
  }
  // Length first: "ab" + "c" and "a" + "bc" differ.
  void bytes(std::string_view s) {
    word(s.size());
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t k;
      std::memcpy(&k, s.data() + i, 8);
      word(k);
    }
    if (i < s.size()) {
      uint64_t k = 0;
      std::memcpy(&k, s.data() + i, s.size() - i);
      word(k);
    }
  }
  uint64_t finish() const {
    uint64_t h = h_;
    h ^= h >> kShift;
    h *= kMul;
    h ^= h >> kShift;
    return h;
  }

 private:
  uint64_t h_ = 0x9e3779b97f4a7c15ULL;
};

// Each kind's tag is written out, not taken from the enum, whose order may change.
void add(Digest& d, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      d.word(1);
      break;
    case Value::Kind::kBool:
      d.word(2);
      d.word(v.as_bool() ? 1 : 0);
      break;
    case Value::Kind::kInt:
      d.word(3);
      d.word(static_cast<uint64_t>(v.as_int()));
      break;
    case Value::Kind::kDouble:
      d.word(4);
      d.word(std::bit_cast<uint64_t>(v.as_double()));
      break;
    case Value::Kind::kString:
      d.word(5);
      d.bytes(v.as_string());
      break;
    case Value::Kind::kArray:
      d.word(6);
      d.word(v.as_array().size());
      for (const Value& e : v.as_array()) add(d, e);
      break;
    case Value::Kind::kObject:
      d.word(7);
      d.word(v.as_object().size());
      for (const auto& [key, e] : v.as_object()) {  // in key order: a map
        d.bytes(key);
        add(d, e);
      }
      break;
  }
}

}  // namespace

uint64_t value_digest(const Value& value) {
  Digest d;
  add(d, value);
  return d.finish();
}

std::array<char, 16> digest_digits(uint64_t digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::array<char, 16> out;
  for (int i = 15; i >= 0; --i, digest >>= 4) out[static_cast<size_t>(i)] = kHex[digest & 15];
  return out;
}

std::string digest_text(uint64_t digest) {
  const auto digits = digest_digits(digest);
  return std::string(digits.data(), digits.size());
}

}  // namespace pl
