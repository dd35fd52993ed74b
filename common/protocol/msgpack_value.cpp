#include "common/protocol/msgpack_value.h"

#include <cstdint>
#include <cstring>
#include <limits>

namespace pl::protocol {

void pack_value(MsgpackWriter& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      out.nil();
      return;
    case Value::Kind::kBool:
      out.boolean(v.as_bool());
      return;
    case Value::Kind::kInt:
      out.integer(v.as_int());
      return;
    case Value::Kind::kDouble:
      out.float64(v.as_double());
      return;
    case Value::Kind::kString:
      out.string(v.as_string());
      return;
    case Value::Kind::kArray:
      out.array(static_cast<uint32_t>(v.as_array().size()));
      for (const auto& element : v.as_array()) pack_value(out, element);
      return;
    case Value::Kind::kObject:
      out.map(static_cast<uint32_t>(v.as_object().size()));
      for (const auto& [key, member] : v.as_object()) {
        out.string(key);
        pack_value(out, member);
      }
      return;
  }
}

namespace {

// The bytes of msgpack-c's header for a string (fixstr, str8/16/32), array or map (fix/16/32).
size_t string_header_size(size_t length) {
  return length < 32 ? 1 : length < 256 ? 2 : length < 65536 ? 3 : 5;
}
size_t container_header_size(size_t count) { return count < 16 ? 1 : count < 65536 ? 3 : 5; }

// msgpack-c's pack_int64: the smallest of fixint, (u)int8/16/32/64 that holds `v`.
size_t int_size(int64_t v) {
  if (v >= -32 && v < 128) return 1;
  if (v >= 0) return v < 256 ? 2 : v < 65536 ? 3 : v <= UINT32_MAX ? 5 : 9;
  return v >= -128 ? 2 : v >= -32768 ? 3 : v >= INT32_MIN ? 5 : 9;
}

}  // namespace

size_t packed_value_size(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
    case Value::Kind::kBool:
      return 1;
    case Value::Kind::kInt:
      return int_size(v.as_int());
    case Value::Kind::kDouble:
      return 9;  // always float64, as pack_value writes it
    case Value::Kind::kString:
      return string_header_size(v.as_string().size()) + v.as_string().size();
    case Value::Kind::kArray: {
      size_t size = container_header_size(v.as_array().size());
      for (const auto& element : v.as_array()) size += packed_value_size(element);
      return size;
    }
    case Value::Kind::kObject: {
      size_t size = container_header_size(v.as_object().size());
      for (const auto& [key, member] : v.as_object()) {
        size += string_header_size(key.size()) + key.size() + packed_value_size(member);
      }
      return size;
    }
  }
  return 0;
}

Result<Value> to_value(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return Value();
    case msgpack::type::BOOLEAN:
      return Value(o.via.boolean);
    case msgpack::type::POSITIVE_INTEGER:
      if (o.via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Value(static_cast<double>(o.via.u64));
      }
      return Value(static_cast<int64_t>(o.via.u64));
    case msgpack::type::NEGATIVE_INTEGER:
      return Value(o.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return Value(o.via.f64);
    case msgpack::type::STR:
      return Value(std::string(o.via.str.ptr, o.via.str.size));
    case msgpack::type::ARRAY: {
      Value::Array array;
      array.reserve(o.via.array.size);
      for (uint32_t i = 0; i < o.via.array.size; ++i) {
        auto element = to_value(o.via.array.ptr[i]);
        if (!element.ok()) return std::move(element).error();
        array.push_back(std::move(*element));
      }
      return Value(std::move(array));
    }
    case msgpack::type::MAP: {
      Value::Object object;
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) {
          return make_error(ErrorCode::kInvalidInput, "a map key is not a string");
        }
        auto member = to_value(kv.val);
        if (!member.ok()) return std::move(member).error();
        object.insert_or_assign(std::string(kv.key.via.str.ptr, kv.key.via.str.size),
                                std::move(*member));
      }
      return Value(std::move(object));
    }
    case msgpack::type::BIN:
      return make_error(ErrorCode::kInvalidInput, "binary values are not allowed");
    case msgpack::type::EXT:
      return make_error(ErrorCode::kInvalidInput, "extension values are not allowed");
  }
  return make_error(ErrorCode::kInvalidInput, "unknown msgpack type");
}

}  // namespace pl::protocol
