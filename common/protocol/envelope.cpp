#include "common/protocol/envelope.h"

#include <algorithm>

#include "common/protocol/msgpack_reader.h"
#include "common/protocol/msgpack_value.h"

namespace pl::protocol {
namespace {

Error invalid(std::string what) { return make_error(ErrorCode::kInvalidInput, std::move(what)); }

// What decode() checks before the body: the frame's size, the [version, type, ...] header, the
// version and a known type. Leaves `reader` (over `frame`) at the body.
Result<MessageType> read_head(std::string_view frame, const DecodeLimits& limits,
                              MsgpackReader& reader) {
  if (frame.size() > limits.max_frame_bytes) {
    return make_error(ErrorCode::kTooLarge, "frame of " + std::to_string(frame.size()) +
                                                " bytes is over the limit of " +
                                                std::to_string(limits.max_frame_bytes));
  }
  if (frame.empty()) return invalid("empty frame");
  auto parts = reader.read_array_header();
  if (!parts.ok()) return std::move(parts).error();
  if (*parts != 3) return invalid("frame is not an envelope [version, type, body]");
  auto version = reader.read_uint();
  if (!version.ok()) return invalid("version is not a number");
  if (*version != kProtocolVersion) {
    return invalid("protocol version " + std::to_string(*version) + ", expected " +
                   std::to_string(kProtocolVersion));
  }
  auto type = reader.read_uint();
  if (!type.ok()) return invalid("message type is not a number");
  if (*type > 0xffff || !is_known_message_type(static_cast<uint16_t>(*type))) {
    return invalid("unknown message type " + std::to_string(*type));
  }
  return static_cast<MessageType>(*type);
}

// What decode() checks after the body: nothing follows it.
Status check_end(const MsgpackReader& reader) {
  if (reader.remaining() == 0) return ok_status();
  return invalid(std::to_string(reader.remaining()) + " trailing bytes after the envelope");
}

}  // namespace

ReaderLimits reader_limits(const DecodeLimits& limits) {
  return ReaderLimits{limits.max_depth, limits.max_elements, limits.max_string_bytes};
}

void pack_envelope_head(MsgpackWriter& out, MessageType type) {
  out.array(3);
  out.unsigned_integer(kProtocolVersion);
  out.unsigned_integer(static_cast<uint16_t>(type));
}

std::string encode(MessageType type, const Value& body) {
  std::string out;
  out.reserve(64);
  MsgpackWriter writer(out);
  pack_envelope_head(writer, type);
  if (body.is_null()) {
    writer.map(0);
  } else {
    pack_value(writer, body);
  }
  return out;
}

Result<Message> decode(std::string_view frame, const DecodeLimits& limits) {
  MsgpackReader reader(frame, reader_limits(limits));
  auto type = read_head(frame, limits, reader);
  if (!type.ok()) return std::move(type).error();
  auto body = reader.read();
  if (!body.ok()) return std::move(body).error();
  if (!body->is_object()) return invalid("body is not a map");
  if (auto end = check_end(reader); !end.ok()) return std::move(end).error();
  return Message{*type, std::move(*body)};
}

Result<MessageType> peek_type(std::string_view frame, const DecodeLimits& limits) {
  MsgpackReader reader(frame, reader_limits(limits));
  return read_head(frame, limits, reader);
}

Status decode_fields(std::string_view frame, MessageType type, std::span<BodyField> fields,
                     const DecodeLimits& limits) {
  MsgpackReader reader(frame, reader_limits(limits));
  auto head = read_head(frame, limits, reader);
  if (!head.ok()) return std::move(head).error();
  if (*head != type) {
    return invalid("message type " + std::string(message_type_name(*head)) + ", expected " +
                   std::string(message_type_name(type)));
  }
  if (!reader.at_map()) {
    // decode() reads the whole body before it sees that it is no map: the same error for the
    // same bytes (a truncated list is "truncated frame", a whole one "body is not a map").
    auto body = reader.read();
    if (!body.ok()) return std::move(body).error();
    return invalid("body is not a map");
  }
  auto count = reader.read_map_header(1);
  if (!count.ok()) return std::move(count).error();
  // Our encoders write a body's keys sorted: with `fields` listed in that order, each key is
  // the one after the last matched, found at the first try rather than by a search.
  auto expected = fields.begin();
  for (size_t i = 0; i < *count; ++i) {
    auto key = reader.read_key();
    if (!key.ok()) return std::move(key).error();
    auto field = expected != fields.end() && expected->key == *key
                     ? expected
                     : std::find_if(fields.begin(), fields.end(),
                                    [&](const BodyField& f) { return f.key == *key; });
    if (field != fields.end()) expected = field + 1;
    // Every member is read, kept or not (skip_at checks what read_into does, building nothing):
    // decode() refuses a frame for any bad value in it.
    const size_t start = reader.position();
    const bool skipped = field == fields.end() || field->keep_bytes;
    const bool known = skipped && field != fields.end() && !field->known.empty() &&
                       reader.take_known(field->known);
    auto member = known     ? ok_status()
                  : skipped ? reader.skip_at(2)
                            : reader.read_into(field->value, 2);
    if (!member.ok()) return member;
    if (field == fields.end()) continue;
    field->present = true;
    if (field->keep_bytes) field->bytes = frame.substr(start, reader.position() - start);
  }
  return check_end(reader);
}

Result<Value> decode_member_value(std::string_view bytes, const DecodeLimits& limits) {
  MsgpackReader reader(bytes, reader_limits(limits));
  return reader.read_at(2);  // a body's member: as deep as decode_fields() read it
}

std::string encode_value(const Value& value) {
  std::string out;
  out.reserve(64);
  MsgpackWriter writer(out);
  pack_value(writer, value);
  return out;
}

size_t packed_size(const Value& value) { return packed_value_size(value); }

Result<Value> decode_value(std::string_view bytes, const DecodeLimits& limits) {
  if (bytes.size() > limits.max_frame_bytes) {
    return make_error(ErrorCode::kTooLarge, std::to_string(bytes.size()) +
                                                " bytes is over the limit of " +
                                                std::to_string(limits.max_frame_bytes));
  }
  if (bytes.empty()) return invalid("no bytes");
  MsgpackReader reader(bytes, reader_limits(limits));
  auto value = reader.read();
  if (!value.ok()) return std::move(value).error();
  if (reader.remaining() != 0) {
    return invalid(std::to_string(reader.remaining()) + " trailing bytes after the value");
  }
  return value;
}

void append_record(std::string& out, std::string_view key, const Value& value) {
  MsgpackWriter writer(out);
  writer.array(2);
  writer.string(key);
  pack_value(writer, value);
}

void append_record(std::string& out, std::string_view key, const Value& value,
                   std::string_view extra_key, std::string_view extra_text) {
  if (!value.is_object()) {
    append_record(out, key, value);
    return;
  }
  const Value::Object& members = value.as_object();
  MsgpackWriter writer(out);
  writer.array(2);
  writer.string(key);
  // In key order, as pack_value writes a map, so that the bytes are those of the object with
  // the member added.
  writer.map(static_cast<uint32_t>(members.size() + (members.count(extra_key) ? 0 : 1)));
  bool extra_done = false;
  for (const auto& [name, member] : members) {
    if (!extra_done && !KeyLess{}(name, extra_key)) {
      writer.string(extra_key);
      writer.string(extra_text);
      extra_done = true;
      if (name == extra_key) continue;
    }
    writer.string(name);
    pack_value(writer, member);
  }
  if (!extra_done) {
    writer.string(extra_key);
    writer.string(extra_text);
  }
}

Result<std::vector<std::pair<std::string, Value>>> decode_records(std::string_view bytes,
                                                                  const DecodeLimits& limits) {
  MsgpackReader reader(bytes, reader_limits(limits));
  std::vector<std::pair<std::string, Value>> records;
  while (reader.remaining() > 0) {
    auto pair = reader.read();
    if (!pair.ok()) return std::move(pair).error().with_context("record " + std::to_string(records.size()));
    if (!pair->is_array() || pair->size() != 2 || !pair->as_array()[0].is_string()) {
      return invalid("record " + std::to_string(records.size()) + " is not a [key, value] pair");
    }
    auto& parts = pair->as_array();
    records.emplace_back(std::move(parts[0].as_string()), std::move(parts[1]));
  }
  return records;
}

}  // namespace pl::protocol
