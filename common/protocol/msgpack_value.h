// Value <-> msgpack. Internal to protocol .cpp files: it pulls in msgpack-c.
#pragma once

#include <msgpack.hpp>
#include <string>

#include "common/result.h"
#include "common/value.h"

namespace pl::protocol {

// A msgpack output stream that appends to a std::string (msgpack::packer wants write()).
struct StringSink {
  std::string* out;
  void write(const char* data, size_t size) { out->append(data, size); }
};

// Appends v to the sink. Doubles are always float64 (msgpack-c's pack_double would write an
// integral double as an integer, and 3.0 must stay a double).
void pack_value(StringSink& sink, const Value& v);
// How many bytes pack_value would append for v.
size_t packed_value_size(const Value& v);

// Converts a decoded msgpack object. Fails on map keys that are not strings, binary and
// extension objects, which no message of ours uses.
Result<Value> to_value(const msgpack::object& o);

}  // namespace pl::protocol
