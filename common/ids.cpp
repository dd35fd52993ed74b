#include "common/ids.h"

#include <sys/random.h>

#include <array>
#include <cstdint>
#include <random>

namespace pl {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void fill_random(uint8_t* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(out + got, n - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  if (got < n) {  // getrandom cannot fail after boot; keep ids unique regardless.
    thread_local std::mt19937_64 fallback{std::random_device{}()};
    for (; got < n; ++got) out[got] = static_cast<uint8_t>(fallback());
  }
}

}  // namespace

std::string new_id(std::string_view prefix, WallTime now) {
  std::array<uint8_t, 16> bytes{};
  const auto ms = static_cast<uint64_t>(unix_millis(now));
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  fill_random(bytes.data() + 6, 10);

  std::string out(prefix);
  out.reserve(prefix.size() + 26);
  // 128 bits as 26 base32 digits, most significant first (the first digit carries 3 bits).
  unsigned __int128 v = 0;
  for (uint8_t b : bytes) v = (v << 8) | b;
  char digits[26];
  for (int i = 25; i >= 0; --i) {
    digits[i] = kAlphabet[static_cast<unsigned>(v & 31)];
    v >>= 5;
  }
  out.append(digits, 26);
  return out;
}

std::string new_short_id(std::string_view prefix) {
  std::array<uint8_t, 9> bytes{};
  fill_random(bytes.data(), bytes.size());
  unsigned __int128 v = 0;
  for (uint8_t b : bytes) v = (v << 8) | b;
  std::string out(prefix);
  for (int i = 0; i < 13; ++i, v >>= 5) out.push_back(kAlphabet[static_cast<unsigned>(v & 31)]);
  return out;
}

}  // namespace pl
