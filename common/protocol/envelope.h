// The envelope every socket of ours carries: one msgpack frame holding
//   [protocol version (uint), message type (uint), body (map)].
//
// Decoding is defensive: the frame comes from a peer we do not trust. Any frame that is not
// exactly one well-formed envelope within DecodeLimits decodes to an Error (kInvalidInput, or
// kTooLarge for a size limit), never to a crash, a huge allocation or a partial message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/protocol/message_type.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::protocol {

// Bumped whenever the meaning of a message changes incompatibly. Peers with another version are
// refused with an error that names both versions.
inline constexpr uint32_t kProtocolVersion = 1;

struct DecodeLimits {
  size_t max_frame_bytes = 16 * 1024 * 1024;
  // Nesting of arrays and maps, the envelope included. Well above what values may hold (a
  // pipeline's YAML 100 levels, parsed JSON 128) plus what carries them (the envelope, and a run
  // result's 4 levels per nested loop): a value the system accepted must cross the wire, or its
  // frame is dropped by the peer and what waits for it waits out its deadline.
  size_t max_depth = 256;
  // Arrays, maps and strings may never claim more elements than the frame has bytes, whatever
  // these say; these bound them further.
  size_t max_elements = 1 << 20;
  size_t max_string_bytes = 16 * 1024 * 1024;

  bool operator==(const DecodeLimits&) const = default;
};

struct Message {
  MessageType type;
  Value body;  // always an object
};

// Encodes one envelope. `body` must be an object (a null body is sent as an empty map).
std::string encode(MessageType type, const Value& body);

// Decodes one envelope. Errors say what was wrong: "truncated frame", "frame of N bytes is over
// the limit of M", "protocol version 7, expected 1", "unknown message type 999", "body is a
// list, expected a map", "nesting deeper than 256", ...
Result<Message> decode(std::string_view frame, const DecodeLimits& limits = {});

// The message type of an envelope, from its header alone: decode()'s checks of the frame's size,
// version and type, with its errors, and none of the body. A cheap way to choose a decoder; a
// frame it accepts may still fail to decode.
Result<MessageType> peek_type(std::string_view frame, const DecodeLimits& limits = {});

// A member of a message body, read straight from the frame by decode_fields().
struct BodyField {
  BodyField(std::string_view name) : key(name) {}  // NOLINT: implicit, for {{"id"}, ...}
  // A member whose bytes are kept rather than decoded (checked all the same): `bytes`, a view
  // into the frame, for a caller that may have decoded the same bytes before.
  static BodyField raw(std::string_view name) {
    BodyField field(name);
    field.keep_bytes = true;
    return field;
  }

  std::string_view key;
  Value value;             // when present (and not kept as bytes)
  std::string_view bytes;  // when present and kept as bytes
  bool present = false;    // whether the body had the key
  bool keep_bytes = false;
  // For a member kept as bytes: a value's bytes that decode_fields() checked before, under the
  // same limits and at the same place. A member whose bytes begin with them is that value (a
  // msgpack value ends where its own bytes say), taken without being read again.
  std::string_view known;
};

// Decodes an envelope of `type` as decode() would, with the same checks and the same errors, but
// keeps only the body's members that `fields` name, each in its BodyField (the last one when a
// key repeats, as in decode()'s body); the others are read, checked and dropped. For the hot
// messages' decoders: the body never becomes a Value object, a std::map of its members. Fields
// listed in sorted key order, the order our encoders write, are each found at the first try.
// Errors also: "message type worker_heartbeat, expected work_result" for an envelope of another
// type.
Status decode_fields(std::string_view frame, MessageType type, std::span<BodyField> fields,
                     const DecodeLimits& limits = {});
// The value of a member decode_fields() kept as bytes (BodyField::raw), decoded as it would have
// been in its place. REQUIRES: `bytes` and `limits` as decode_fields() had them, which checked
// them: what decode_fields() accepted decodes.
Result<Value> decode_member_value(std::string_view bytes, const DecodeLimits& limits = {});

// One Value as msgpack, and back (the same checks as decode): a compact stored form, cheaper to
// write and read than JSON (broker.db keeps item results so).
std::string encode_value(const Value& value);
// encode_value(value).size(), computed without packing: what a size bound needs per item.
size_t packed_size(const Value& value);
Result<Value> decode_value(std::string_view bytes, const DecodeLimits& limits = {});

// Records of (key, value), appended one after another to a byte string (each a msgpack pair),
// and read back in order: many results stored as one blob.
void append_record(std::string& out, std::string_view key, const Value& value);
// The same record as for `value` with the member extra_key: extra_text (replacing one of that
// name) when `value` is an object; as the one above otherwise. Spares copying a result to add a
// member only its stored form carries.
void append_record(std::string& out, std::string_view key, const Value& value,
                   std::string_view extra_key, std::string_view extra_text);
Result<std::vector<std::pair<std::string, Value>>> decode_records(std::string_view bytes,
                                                                  const DecodeLimits& limits = {});

}  // namespace pl::protocol
