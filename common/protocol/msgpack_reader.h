// A msgpack reader that builds Values directly from the bytes, with the decoder's limits checked
// as it goes: no intermediate object tree, no allocation a header merely claims. Internal to the
// protocol; envelope.cpp uses it, for whole values and for a body read member by member.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "common/value.h"

namespace pl::protocol {

struct DecodeLimits;

struct ReaderLimits {
  size_t max_depth = 256;         // as DecodeLimits
  size_t max_elements = 1 << 20;  // per array or map
  size_t max_string_bytes = 16 * 1024 * 1024;
};
// A decoder's limits (envelope.h) as the reader takes them.
ReaderLimits reader_limits(const DecodeLimits& limits);

class MsgpackReader {
 public:
  MsgpackReader(std::string_view bytes, const ReaderLimits& limits) : in_(bytes), limits_(limits) {}

  // Reads one value. Errors: "truncated frame", "nesting deeper than N", "a map key is not a
  // string", "binary values are not allowed", "extension values are not allowed", kTooLarge for
  // a count or length over the limits or over what the frame could hold.
  Result<Value> read() { return read_at(1); }
  // The same for a value nested `depth` deep (read() is depth 1; a map's members are one deeper
  // than the map), so that the nesting limit counts the containers around it.
  Result<Value> read_at(size_t depth);
  // The same into `out` (replacing what it held): what a decoder that already holds the place
  // for the value calls, with no Value moved on the way. After a failure `out` holds part of
  // the value: a caller gives the whole frame up.
  Status read_into(Value& out, size_t depth);
  // Passes over one value nested `depth` deep with read_at's checks and errors, building
  // nothing: what finds where a stored record's value ends without decoding it.
  Status skip_at(size_t depth);
  // Passes over `bytes` if the input continues with them (true), else reads nothing (false).
  bool take_known(std::string_view bytes);
  // Reads an array header; the caller reads its elements.
  Result<size_t> read_array_header();
  // Whether the next value is a map (false at the end of the bytes).
  bool at_map() const;
  // Whether the next value is an array (false at the end of the bytes).
  bool at_array() const;
  // Reads the header of a map nested `depth` deep, with read_at's checks of its nesting and
  // count; the caller reads that many pairs with read_key() and read_at(depth + 1).
  // REQUIRES: at_map().
  Result<size_t> read_map_header(size_t depth);
  // Reads a map key, which must be a string ("body: a map key is not a string"). The view is
  // into the bytes the reader was given.
  Result<std::string_view> read_key();
  // Reads an unsigned integer.
  Result<uint64_t> read_uint();
  size_t remaining() const { return in_.size() - pos_; }
  // How many bytes have been read.
  size_t position() const { return pos_; }

 private:
  // The reading itself returns whether it went well and leaves the first problem in failure_:
  // no Result built, moved and destroyed for each byte range on the hot path of every message.
  bool fail(Error error);
  bool value_into(Value& out, size_t depth);
  bool skip_value(size_t depth);
  // A map's or array's count, checked against the nesting and element limits.
  bool container_count(uint64_t claimed, size_t depth, size_t min_bytes_each, size_t& count);
  bool checked_count(uint64_t claimed, size_t min_bytes_each, size_t& count);
  bool take_be(size_t bytes, uint64_t& out);
  bool take_view(size_t length, std::string_view& out);
  // The bytes of a str8, str16 or str32 (`tag` 0xd9-0xdb, already read): its length, then them.
  bool take_sized_string(unsigned char tag, std::string_view& out);
  bool take_map_header(size_t depth, size_t& count);
  bool take_key(std::string_view& out);
  // The failure as a Result's error, leaving failure_ empty for the next read.
  Error failure();

  std::string_view in_;
  size_t pos_ = 0;
  const ReaderLimits limits_;  // a copy: callers pass temporaries
  Error failure_;
};

}  // namespace pl::protocol
