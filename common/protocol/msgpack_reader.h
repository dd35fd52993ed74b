// A msgpack reader that builds Values directly from the bytes, with the decoder's limits checked
// as it goes: no intermediate object tree, no allocation a header merely claims. Internal to the
// protocol; envelope.cpp uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "common/value.h"

namespace pl::protocol {

struct ReaderLimits {
  size_t max_depth = 64;
  size_t max_elements = 1 << 20;  // per array or map
  size_t max_string_bytes = 16 * 1024 * 1024;
};

class MsgpackReader {
 public:
  MsgpackReader(std::string_view bytes, const ReaderLimits& limits) : in_(bytes), limits_(limits) {}

  // Reads one value. Errors: "truncated frame", "nesting deeper than N", "a map key is not a
  // string", "binary values are not allowed", "extension values are not allowed", kTooLarge for
  // a count or length over the limits or over what the frame could hold.
  Result<Value> read();
  // Reads an array header; the caller reads its elements.
  Result<size_t> read_array_header();
  // Reads an unsigned integer.
  Result<uint64_t> read_uint();
  size_t remaining() const { return in_.size() - pos_; }

 private:
  Result<Value> read_value(size_t depth);
  Result<std::string> read_string_body(size_t length);
  Result<uint64_t> read_be(size_t bytes);
  Result<size_t> checked_count(uint64_t count, size_t min_bytes_each);

  std::string_view in_;
  size_t pos_ = 0;
  const ReaderLimits limits_;  // a copy: callers pass temporaries
};

}  // namespace pl::protocol
