#include "common/protocol/msgpack_reader.h"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <utility>

namespace pl::protocol {
namespace {

Error truncated() { return make_error(ErrorCode::kInvalidInput, "truncated frame"); }
Error invalid(std::string what) { return make_error(ErrorCode::kInvalidInput, std::move(what)); }
Error too_large() {
  return make_error(ErrorCode::kTooLarge, "an element count or string length is over the limit");
}

// What a value may not be: binary (0xc4-0xc6), an extension (0xc7-0xc9, 0xd4-0xd8) or the
// reserved 0xc1, the only tags that value_into and skip_value leave to their default.
Error refused(unsigned char tag) {
  if (tag >= 0xc4 && tag <= 0xc6) return invalid("body: binary values are not allowed");
  if ((tag >= 0xc7 && tag <= 0xc9) || (tag >= 0xd4 && tag <= 0xd8)) {
    return invalid("body: extension values are not allowed");
  }
  return invalid("malformed msgpack: reserved byte 0xc1");
}

}  // namespace

bool MsgpackReader::fail(Error error) {
  failure_ = std::move(error);
  return false;
}

Error MsgpackReader::failure() { return std::exchange(failure_, Error{}); }

bool MsgpackReader::take_be(size_t bytes, uint64_t& out) {
  if (remaining() < bytes) return fail(truncated());
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in_[pos_ + i]);
  pos_ += bytes;
  out = v;
  return true;
}

bool MsgpackReader::checked_count(uint64_t claimed, size_t min_bytes_each, size_t& count) {
  // Every element takes at least a byte (a map entry two): a frame cannot hold more than that,
  // whatever its header claims.
  if (claimed > limits_.max_elements || claimed > remaining() / min_bytes_each) {
    return fail(too_large());
  }
  count = static_cast<size_t>(claimed);
  return true;
}

bool MsgpackReader::container_count(uint64_t claimed, size_t depth, size_t min_bytes_each,
                                    size_t& count) {
  if (depth + 1 > limits_.max_depth) {
    return fail(invalid("nesting deeper than " + std::to_string(limits_.max_depth)));
  }
  return checked_count(claimed, min_bytes_each, count);
}

bool MsgpackReader::take_view(size_t length, std::string_view& out) {
  if (length > limits_.max_string_bytes) return fail(too_large());
  if (remaining() < length) return fail(truncated());
  out = in_.substr(pos_, length);
  pos_ += length;
  return true;
}

bool MsgpackReader::take_sized_string(unsigned char tag, std::string_view& out) {
  uint64_t n = 0;
  // take_view checks the length against the limit (kTooLarge) before the bytes left.
  return take_be(size_t{1} << (tag - 0xd9), n) &&
         take_view(static_cast<size_t>(std::min<uint64_t>(n, SIZE_MAX)), out);
}

bool MsgpackReader::take_known(std::string_view bytes) {
  if (in_.substr(pos_, bytes.size()) != bytes) return false;
  pos_ += bytes.size();
  return true;
}

bool MsgpackReader::at_array() const {
  if (remaining() < 1) return false;
  const auto tag = static_cast<unsigned char>(in_[pos_]);
  return (tag & 0xf0) == 0x90 || tag == 0xdc || tag == 0xdd;
}

bool MsgpackReader::at_map() const {
  if (remaining() < 1) return false;
  const auto tag = static_cast<unsigned char>(in_[pos_]);
  return (tag & 0xf0) == 0x80 || tag == 0xde || tag == 0xdf;
}

bool MsgpackReader::take_map_header(size_t depth, size_t& count) {
  if (!at_map()) return fail(invalid("expected a map"));
  const auto tag = static_cast<unsigned char>(in_[pos_++]);
  uint64_t claimed = tag & 0x0f;
  if ((tag == 0xde || tag == 0xdf) && !take_be(tag == 0xde ? 2 : 4, claimed)) return false;
  return container_count(claimed, depth, 2, count);
}

bool MsgpackReader::take_key(std::string_view& out) {
  if (remaining() < 1) return fail(truncated());
  const auto tag = static_cast<unsigned char>(in_[pos_]);
  if ((tag & 0xe0) == 0xa0) {
    ++pos_;
    return take_view(tag & 0x1f, out);
  }
  if (tag >= 0xd9 && tag <= 0xdb) {
    ++pos_;
    return take_sized_string(tag, out);
  }
  return fail(invalid("body: a map key is not a string"));
}

Result<size_t> MsgpackReader::read_array_header() {
  if (remaining() < 1) return truncated();
  const auto tag = static_cast<unsigned char>(in_[pos_]);
  uint64_t claimed;
  if ((tag & 0xf0) == 0x90) {
    ++pos_;
    claimed = tag & 0x0f;
  } else if (tag == 0xdc || tag == 0xdd) {
    ++pos_;
    if (!take_be(tag == 0xdc ? 2 : 4, claimed)) return failure();
  } else {
    return invalid("frame is not an envelope [version, type, body]");
  }
  size_t count = 0;
  if (!checked_count(claimed, 1, count)) return failure();
  return count;
}

Result<uint64_t> MsgpackReader::read_uint() {
  if (remaining() < 1) return truncated();
  const auto tag = static_cast<unsigned char>(in_[pos_]);
  if (tag <= 0x7f) {
    ++pos_;
    return static_cast<uint64_t>(tag);
  }
  if (tag >= 0xcc && tag <= 0xcf) {
    ++pos_;
    uint64_t v = 0;
    if (!take_be(size_t{1} << (tag - 0xcc), v)) return failure();
    return v;
  }
  return invalid("expected an unsigned integer");
}

Result<size_t> MsgpackReader::read_map_header(size_t depth) {
  size_t count = 0;
  if (!take_map_header(depth, count)) return failure();
  return count;
}

Result<std::string_view> MsgpackReader::read_key() {
  std::string_view key;
  if (!take_key(key)) return failure();
  return key;
}

Result<Value> MsgpackReader::read_at(size_t depth) {
  Value out;
  if (!value_into(out, depth)) return failure();
  return out;
}

Status MsgpackReader::read_into(Value& out, size_t depth) {
  if (!value_into(out, depth)) return failure();
  return ok_status();
}

Status MsgpackReader::skip_at(size_t depth) {
  if (!skip_value(depth)) return failure();
  return ok_status();
}

bool MsgpackReader::value_into(Value& out, size_t depth) {
  size_t count = 0;
  if (at_map()) {
    if (!take_map_header(depth, count)) return false;
    out = Value::object();
    Value::Object& object = out.as_object();
    for (size_t i = 0; i < count; ++i) {
      std::string_view key;
      if (!take_key(key)) return false;
      // Keys arrive sorted from our encoders: placed at the end when they do. A repeated key is
      // read again into its place, so it keeps its last value.
      auto member = object.emplace_hint(object.end(), std::piecewise_construct,
                                        std::forward_as_tuple(key), std::tuple<>());
      if (!value_into(member->second, depth + 1)) return false;
    }
    return true;
  }
  if (remaining() < 1) return fail(truncated());
  const auto tag = static_cast<unsigned char>(in_[pos_++]);
  auto array_into = [&](uint64_t claimed) {
    if (!container_count(claimed, depth, 1, count)) return false;
    out = Value::array();
    Value::Array& array = out.as_array();
    array.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (!value_into(array.emplace_back(), depth + 1)) return false;
    }
    return true;
  };
  std::string_view text;
  uint64_t u = 0;

  if (tag <= 0x7f) {
    out = Value(static_cast<int64_t>(tag));
    return true;
  }
  if (tag >= 0xe0) {
    out = Value(static_cast<int64_t>(static_cast<int8_t>(tag)));
    return true;
  }
  if ((tag & 0xf0) == 0x90) return array_into(tag & 0x0f);
  if ((tag & 0xe0) == 0xa0) {
    if (!take_view(tag & 0x1f, text)) return false;
    out = Value(text);
    return true;
  }
  switch (tag) {
    case 0xc0:
      out = Value();
      return true;
    case 0xc2:
    case 0xc3:
      out = Value(tag == 0xc3);
      return true;
    case 0xca: {
      if (!take_be(4, u)) return false;
      const auto bits = static_cast<uint32_t>(u);
      float f;
      std::memcpy(&f, &bits, sizeof f);
      out = Value(static_cast<double>(f));
      return true;
    }
    case 0xcb: {
      if (!take_be(8, u)) return false;
      double d;
      std::memcpy(&d, &u, sizeof d);
      out = Value(d);
      return true;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      if (!take_be(size_t{1} << (tag - 0xcc), u)) return false;
      out = u > static_cast<uint64_t>(INT64_MAX) ? Value(static_cast<double>(u))
                                                 : Value(static_cast<int64_t>(u));
      return true;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      const size_t bytes = size_t{1} << (tag - 0xd0);
      if (!take_be(bytes, u)) return false;
      // Sign-extend from `bytes` bytes.
      const int shift = static_cast<int>(64 - 8 * bytes);
      out = Value(static_cast<int64_t>(u << shift) >> shift);
      return true;
    }
    case 0xd9:
    case 0xda:
    case 0xdb:
      if (!take_sized_string(tag, text)) return false;
      out = Value(text);
      return true;
    case 0xdc:
    case 0xdd:
      return take_be(tag == 0xdc ? 2 : 4, u) && array_into(u);
    default:
      return fail(refused(tag));
  }
}

bool MsgpackReader::skip_value(size_t depth) {
  // value_into's cases in value_into's order, so that the same bytes fail with the same error.
  size_t count = 0;
  std::string_view text;
  uint64_t u = 0;
  if (at_map()) {
    if (!take_map_header(depth, count)) return false;
    for (size_t i = 0; i < count; ++i) {
      if (!take_key(text) || !skip_value(depth + 1)) return false;
    }
    return true;
  }
  if (remaining() < 1) return fail(truncated());
  const auto tag = static_cast<unsigned char>(in_[pos_++]);
  auto skip_array = [&](uint64_t claimed) {
    if (!container_count(claimed, depth, 1, count)) return false;
    for (size_t i = 0; i < count; ++i) {
      if (!skip_value(depth + 1)) return false;
    }
    return true;
  };

  if (tag <= 0x7f || tag >= 0xe0) return true;
  if ((tag & 0xf0) == 0x90) return skip_array(tag & 0x0f);
  if ((tag & 0xe0) == 0xa0) return take_view(tag & 0x1f, text);
  switch (tag) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return true;
    case 0xca:
      return take_be(4, u);
    case 0xcb:
      return take_be(8, u);
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      return take_be(size_t{1} << (tag - 0xcc), u);
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      return take_be(size_t{1} << (tag - 0xd0), u);
    case 0xd9:
    case 0xda:
    case 0xdb:
      return take_sized_string(tag, text);
    case 0xdc:
    case 0xdd:
      return take_be(tag == 0xdc ? 2 : 4, u) && skip_array(u);
    default:
      return fail(refused(tag));
  }
}

}  // namespace pl::protocol
