#include "common/protocol/envelope.h"

#include <algorithm>

#include "common/protocol/msgpack_value.h"

namespace pl::protocol {
namespace {

Error invalid(std::string what) { return make_error(ErrorCode::kInvalidInput, std::move(what)); }

// Strings inside the frame are referenced, not copied, while we convert them to Values.
bool reference_everything(msgpack::type::object_type, std::size_t, void*) { return true; }

}  // namespace

std::string encode(MessageType type, const Value& body) {
  std::string out;
  out.reserve(64);
  StringSink sink{&out};
  msgpack::packer<StringSink> packer(sink);
  packer.pack_array(3);
  packer.pack_uint32(kProtocolVersion);
  packer.pack_uint16(static_cast<uint16_t>(type));
  if (body.is_null()) {
    packer.pack_map(0);
  } else {
    pack_value(packer, body);
  }
  return out;
}

Result<Message> decode(std::string_view frame, const DecodeLimits& limits) {
  if (frame.size() > limits.max_frame_bytes) {
    return make_error(ErrorCode::kTooLarge, "frame of " + std::to_string(frame.size()) +
                                                " bytes is over the limit of " +
                                                std::to_string(limits.max_frame_bytes));
  }
  if (frame.empty()) return invalid("empty frame");
  // Nothing in a frame can claim more elements than it has bytes: this keeps msgpack-c from
  // allocating what a hostile header claims.
  const size_t elements = std::min(limits.max_elements, frame.size());
  const msgpack::unpack_limit limit(elements, elements, limits.max_string_bytes, 0, 0,
                                    limits.max_depth);
  msgpack::object_handle handle;
  size_t offset = 0;
  try {
    handle = msgpack::unpack(frame.data(), frame.size(), offset, reference_everything, nullptr,
                             limit);
  } catch (const msgpack::insufficient_bytes&) {
    return invalid("truncated frame");
  } catch (const msgpack::depth_size_overflow&) {
    return invalid("nesting deeper than " + std::to_string(limits.max_depth));
  } catch (const msgpack::size_overflow&) {
    return make_error(ErrorCode::kTooLarge, "an element count or string length is over the limit");
  } catch (const std::exception& e) {
    return invalid(std::string("malformed msgpack: ") + e.what());
  }
  if (offset != frame.size()) {
    return invalid(std::to_string(frame.size() - offset) + " trailing bytes after the envelope");
  }

  const msgpack::object& root = handle.get();
  if (root.type != msgpack::type::ARRAY || root.via.array.size != 3) {
    return invalid("frame is not an envelope [version, type, body]");
  }
  const msgpack::object* parts = root.via.array.ptr;
  if (parts[0].type != msgpack::type::POSITIVE_INTEGER) return invalid("version is not a number");
  if (parts[0].via.u64 != kProtocolVersion) {
    return invalid("protocol version " + std::to_string(parts[0].via.u64) + ", expected " +
                   std::to_string(kProtocolVersion));
  }
  if (parts[1].type != msgpack::type::POSITIVE_INTEGER) {
    return invalid("message type is not a number");
  }
  if (parts[1].via.u64 > 0xffff || !is_known_message_type(static_cast<uint16_t>(parts[1].via.u64))) {
    return invalid("unknown message type " + std::to_string(parts[1].via.u64));
  }
  if (parts[2].type != msgpack::type::MAP) return invalid("body is not a map");
  auto body = to_value(parts[2]);
  if (!body.ok()) return invalid("body: " + body.error().message);
  return Message{static_cast<MessageType>(parts[1].via.u64), std::move(*body)};
}

}  // namespace pl::protocol
