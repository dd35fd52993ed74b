#include "common/protocol/msgpack_reader.h"

#include <algorithm>
#include <cstring>

namespace pl::protocol {
namespace {

Error truncated() { return make_error(ErrorCode::kInvalidInput, "truncated frame"); }
Error invalid(std::string what) { return make_error(ErrorCode::kInvalidInput, std::move(what)); }

// What a value may not be: binary (0xc4-0xc6), an extension (0xc7-0xc9, 0xd4-0xd8) or the
// reserved 0xc1, the only tags that read_at and skip_at leave to their default.
Error refused(unsigned char tag) {
  if (tag >= 0xc4 && tag <= 0xc6) return invalid("body: binary values are not allowed");
  if ((tag >= 0xc7 && tag <= 0xc9) || (tag >= 0xd4 && tag <= 0xd8)) {
    return invalid("body: extension values are not allowed");
  }
  return invalid("malformed msgpack: reserved byte 0xc1");
}

}  // namespace

Result<uint64_t> MsgpackReader::read_be(size_t bytes) {
  if (remaining() < bytes) return truncated();
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in_[pos_ + i]);
  pos_ += bytes;
  return v;
}

Result<size_t> MsgpackReader::checked_count(uint64_t count, size_t min_bytes_each) {
  // Every element takes at least a byte (a map entry two): a frame cannot hold more than that,
  // whatever its header claims.
  if (count > limits_.max_elements || count > remaining() / min_bytes_each) {
    return make_error(ErrorCode::kTooLarge, "an element count or string length is over the limit");
  }
  return static_cast<size_t>(count);
}

Result<size_t> MsgpackReader::container_count(uint64_t claimed, size_t depth,
                                              size_t min_bytes_each) {
  if (depth + 1 > limits_.max_depth) {
    return invalid("nesting deeper than " + std::to_string(limits_.max_depth));
  }
  return checked_count(claimed, min_bytes_each);
}

Result<std::string_view> MsgpackReader::read_string_view(size_t length) {
  if (length > limits_.max_string_bytes) {
    return make_error(ErrorCode::kTooLarge, "an element count or string length is over the limit");
  }
  if (remaining() < length) return truncated();
  std::string_view s = in_.substr(pos_, length);
  pos_ += length;
  return s;
}

Result<std::string_view> MsgpackReader::read_sized_string(unsigned char tag) {
  auto n = read_be(size_t{1} << (tag - 0xd9));
  if (!n.ok()) return std::move(n).error();
  // read_string_view checks the length against the limit (kTooLarge) before the bytes left.
  return read_string_view(static_cast<size_t>(std::min<uint64_t>(*n, SIZE_MAX)));
}

Result<std::string> MsgpackReader::read_string_body(size_t length) {
  auto s = read_string_view(length);
  if (!s.ok()) return std::move(s).error();
  return std::string(*s);
}

Result<size_t> MsgpackReader::read_array_header() {
  if (remaining() < 1) return truncated();
  const auto tag = static_cast<unsigned char>(in_[pos_]);
  uint64_t count;
  if ((tag & 0xf0) == 0x90) {
    ++pos_;
    count = tag & 0x0f;
  } else if (tag == 0xdc || tag == 0xdd) {
    ++pos_;
    auto n = read_be(tag == 0xdc ? 2 : 4);
    if (!n.ok()) return std::move(n).error();
    count = *n;
  } else {
    return invalid("frame is not an envelope [version, type, body]");
  }
  return checked_count(count, 1);
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
    return read_be(size_t{1} << (tag - 0xcc));
  }
  return invalid("expected an unsigned integer");
}

bool MsgpackReader::at_map() const {
  if (remaining() < 1) return false;
  const auto tag = static_cast<unsigned char>(in_[pos_]);
  return (tag & 0xf0) == 0x80 || tag == 0xde || tag == 0xdf;
}

Result<size_t> MsgpackReader::read_map_header(size_t depth) {
  if (!at_map()) return invalid("expected a map");
  const auto tag = static_cast<unsigned char>(in_[pos_++]);
  uint64_t claimed = tag & 0x0f;
  if (tag == 0xde || tag == 0xdf) {
    auto n = read_be(tag == 0xde ? 2 : 4);
    if (!n.ok()) return std::move(n).error();
    claimed = *n;
  }
  return container_count(claimed, depth, 2);
}

Result<std::string_view> MsgpackReader::read_key() {
  if (remaining() < 1) return truncated();
  const auto tag = static_cast<unsigned char>(in_[pos_]);
  if ((tag & 0xe0) == 0xa0) {
    ++pos_;
    return read_string_view(tag & 0x1f);
  }
  if (tag >= 0xd9 && tag <= 0xdb) {
    ++pos_;
    return read_sized_string(tag);
  }
  return invalid("body: a map key is not a string");
}

Result<Value> MsgpackReader::read_at(size_t depth) {
  if (at_map()) {
    auto count = read_map_header(depth);
    if (!count.ok()) return std::move(count).error();
    Value::Object object;
    for (size_t i = 0; i < *count; ++i) {
      auto key = read_key();
      if (!key.ok()) return std::move(key).error();
      auto member = read_at(depth + 1);
      if (!member.ok()) return member;
      // Keys arrive sorted from our encoders: append at the end when they do. A repeated key
      // keeps its last value.
      object.insert_or_assign(object.end(), std::string(*key), std::move(*member));
    }
    return Value(std::move(object));
  }
  if (remaining() < 1) return truncated();
  const auto tag = static_cast<unsigned char>(in_[pos_++]);
  auto read_array = [&](uint64_t claimed) -> Result<Value> {
    auto count = container_count(claimed, depth, 1);
    if (!count.ok()) return std::move(count).error();
    Value::Array array;
    array.reserve(*count);
    for (size_t i = 0; i < *count; ++i) {
      auto element = read_at(depth + 1);
      if (!element.ok()) return element;
      array.push_back(std::move(*element));
    }
    return Value(std::move(array));
  };

  if (tag <= 0x7f) return Value(static_cast<int64_t>(tag));
  if (tag >= 0xe0) return Value(static_cast<int64_t>(static_cast<int8_t>(tag)));
  if ((tag & 0xf0) == 0x90) return read_array(tag & 0x0f);
  if ((tag & 0xe0) == 0xa0) {
    auto s = read_string_body(tag & 0x1f);
    if (!s.ok()) return std::move(s).error();
    return Value(std::move(*s));
  }
  switch (tag) {
    case 0xc0:
      return Value();
    case 0xc2:
      return Value(false);
    case 0xc3:
      return Value(true);
    case 0xca: {
      auto bits = read_be(4);
      if (!bits.ok()) return std::move(bits).error();
      const auto u = static_cast<uint32_t>(*bits);
      float f;
      std::memcpy(&f, &u, sizeof f);
      return Value(static_cast<double>(f));
    }
    case 0xcb: {
      auto bits = read_be(8);
      if (!bits.ok()) return std::move(bits).error();
      double d;
      const uint64_t u = *bits;
      std::memcpy(&d, &u, sizeof d);
      return Value(d);
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      auto u = read_be(size_t{1} << (tag - 0xcc));
      if (!u.ok()) return std::move(u).error();
      if (*u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(*u));
      return Value(static_cast<int64_t>(*u));
    }
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      const size_t bytes = size_t{1} << (tag - 0xd0);
      auto u = read_be(bytes);
      if (!u.ok()) return std::move(u).error();
      // Sign-extend from `bytes` bytes.
      const int shift = static_cast<int>(64 - 8 * bytes);
      return Value(static_cast<int64_t>(*u << shift) >> shift);
    }
    case 0xd9:
    case 0xda:
    case 0xdb: {
      auto s = read_sized_string(tag);
      if (!s.ok()) return std::move(s).error();
      return Value(std::string(*s));
    }
    case 0xdc:
    case 0xdd: {
      auto n = read_be(tag == 0xdc ? 2 : 4);
      if (!n.ok()) return std::move(n).error();
      return read_array(*n);
    }
    default:
      return refused(tag);
  }
}

Status MsgpackReader::skip_at(size_t depth) {
  // read_at's cases in read_at's order, so that the same bytes fail with the same error.
  if (at_map()) {
    auto count = read_map_header(depth);
    if (!count.ok()) return std::move(count).error();
    for (size_t i = 0; i < *count; ++i) {
      if (auto key = read_key(); !key.ok()) return std::move(key).error();
      if (auto st = skip_at(depth + 1); !st.ok()) return st;
    }
    return ok_status();
  }
  if (remaining() < 1) return truncated();
  const auto tag = static_cast<unsigned char>(in_[pos_++]);
  auto skip_array = [&](uint64_t claimed) -> Status {
    auto count = container_count(claimed, depth, 1);
    if (!count.ok()) return std::move(count).error();
    for (size_t i = 0; i < *count; ++i) {
      if (auto st = skip_at(depth + 1); !st.ok()) return st;
    }
    return ok_status();
  };
  auto skip_bytes = [&](size_t bytes) -> Status {
    auto v = read_be(bytes);
    return v.ok() ? ok_status() : Status(std::move(v).error());
  };

  if (tag <= 0x7f || tag >= 0xe0) return ok_status();
  if ((tag & 0xf0) == 0x90) return skip_array(tag & 0x0f);
  if ((tag & 0xe0) == 0xa0) {
    auto s = read_string_view(tag & 0x1f);
    return s.ok() ? ok_status() : Status(std::move(s).error());
  }
  switch (tag) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return ok_status();
    case 0xca:
      return skip_bytes(4);
    case 0xcb:
      return skip_bytes(8);
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      return skip_bytes(size_t{1} << (tag - 0xcc));
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      return skip_bytes(size_t{1} << (tag - 0xd0));
    case 0xd9:
    case 0xda:
    case 0xdb: {
      auto s = read_sized_string(tag);
      return s.ok() ? ok_status() : Status(std::move(s).error());
    }
    case 0xdc:
    case 0xdd: {
      auto n = read_be(tag == 0xdc ? 2 : 4);
      if (!n.ok()) return std::move(n).error();
      return skip_array(*n);
    }
    default:
      return refused(tag);
  }
}

}  // namespace pl::protocol
