// Writes msgpack into a std::string: the encoder of every message, record and value we pack.
//
// The bytes are msgpack-c's (its packer picks the same smallest form for each integer, string,
// array and map header; msgpack_writer_test holds the two to that), written straight into the
// string: msgpack-c's packer hands each header and body to a sink one append at a time, which
// was most of the cost of encoding a work item. Internal to the protocol .cpp files.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pl::protocol {

class MsgpackWriter {
 public:
  explicit MsgpackWriter(std::string& out) : out_(out) {}

  void nil() { out_.push_back('\xc0'); }
  void boolean(bool b) { out_.push_back(b ? '\xc3' : '\xc2'); }

  // The smallest of positive or negative fixint, (u)int8/16/32/64 that holds v.
  void integer(int64_t v) {
    if (v >= -32 && v < 128) {
      out_.push_back(static_cast<char>(v));
    } else if (v >= 0) {
      unsigned_tagged(static_cast<uint64_t>(v));
    } else if (v >= -128) {
      tagged(0xd0, static_cast<uint64_t>(v), 1);
    } else if (v >= -32768) {
      tagged(0xd1, static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN) {
      tagged(0xd2, static_cast<uint64_t>(v), 4);
    } else {
      tagged(0xd3, static_cast<uint64_t>(v), 8);
    }
  }
  // As integer(), for a count that cannot be negative (msgpack-c's pack_uint16/32/64).
  void unsigned_integer(uint64_t v) {
    if (v < 128) {
      out_.push_back(static_cast<char>(v));
    } else {
      unsigned_tagged(v);
    }
  }

  // Always float64: msgpack-c's pack_double would write an integral double as an integer, and
  // 3.0 must stay a double.
  void float64(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    tagged(0xcb, bits, 8);
  }

  void string(std::string_view s) {
    const size_t n = s.size();
    if (n < 32) {
      out_.push_back(static_cast<char>(0xa0 | n));
    } else if (n < 256) {
      tagged(0xd9, n, 1);
    } else if (n < 65536) {
      tagged(0xda, n, 2);
    } else {
      tagged(0xdb, n, 4);
    }
    out_.append(s.data(), n);
  }

  void array(uint32_t count) { header(0x90, 0xdc, count); }
  void map(uint32_t count) { header(0x80, 0xde, count); }

  // Bytes that are msgpack already (a value packed before).
  void raw(std::string_view bytes) { out_.append(bytes.data(), bytes.size()); }

 private:
  // `tag` then the low `bytes` bytes of v, big-endian, in one append.
  void tagged(unsigned char tag, uint64_t v, int bytes) {
    char buffer[9];
    buffer[0] = static_cast<char>(tag);
    for (int i = 0; i < bytes; ++i) buffer[1 + i] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
    out_.append(buffer, static_cast<size_t>(bytes) + 1);
  }
  void unsigned_tagged(uint64_t v) {
    if (v < 256) {
      tagged(0xcc, v, 1);
    } else if (v < 65536) {
      tagged(0xcd, v, 2);
    } else if (v <= UINT32_MAX) {
      tagged(0xce, v, 4);
    } else {
      tagged(0xcf, v, 8);
    }
  }
  // A fix header (`fix` | count) below 16, else the 16- or 32-bit form (`tag16`, tag16 + 1).
  void header(unsigned char fix, unsigned char tag16, uint32_t count) {
    if (count < 16) {
      out_.push_back(static_cast<char>(fix | count));
    } else if (count < 65536) {
      tagged(tag16, count, 2);
    } else {
      tagged(tag16 + 1, count, 4);
    }
  }

  std::string& out_;
};

}  // namespace pl::protocol
