// Value <-> msgpack. Internal to protocol .cpp files: it pulls in msgpack-c.
#pragma once

#include <msgpack.hpp>
#include <string>

#include "common/protocol/message_type.h"
#include "common/protocol/msgpack_writer.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::protocol {

// Appends an envelope's [version, type, ...] header: its body is packed next (envelope.cpp).
void pack_envelope_head(MsgpackWriter& out, MessageType type);
// Appends v. Doubles are always float64 (MsgpackWriter::float64).
void pack_value(MsgpackWriter& out, const Value& v);
// How many bytes pack_value would append for v.
size_t packed_value_size(const Value& v);

// Converts a decoded msgpack object. Fails on map keys that are not strings, binary and
// extension objects, which no message of ours uses.
Result<Value> to_value(const msgpack::object& o);

}  // namespace pl::protocol
