// Typed, checked reads of a message body. The first problem is kept and reported by status():
// "work_item: field \"attempt\" is a string, expected an integer". Reads after a problem return
// fallbacks, so a decoder reads every field and checks once at the end.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/protocol/envelope.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::protocol {

class BodyReader {
 public:
  // `what` names the message in errors. `body` must outlive the reader.
  BodyReader(const Value& body, std::string_view what);
  // The same over the members decode_fields() read from a frame: the same reads, the same
  // errors as over the body decode() would have made; a key not among `fields` reads as absent.
  // `fields` must outlive the reader.
  BodyReader(std::span<const BodyField> fields, std::string_view what);
  // The same over a body (or fields) the caller hands over to be taken apart: take_string()
  // then moves strings out instead of copying them.
  static BodyReader consuming(Value& body, std::string_view what);
  static BodyReader consuming(std::span<BodyField> fields, std::string_view what);

  std::string string(std::string_view key);
  // string(), moved out of the body when the reader consumes it (a copy otherwise): for the
  // identifiers of a work item or result, read once per item.
  std::string take_string(std::string_view key);
  std::string optional_string(std::string_view key, std::string_view fallback = {});
  int64_t integer(std::string_view key);
  int64_t optional_integer(std::string_view key, int64_t fallback);
  // An integer in [0, max].
  uint64_t count(std::string_view key, uint64_t max = UINT32_MAX);
  // The same, or nullopt when the field is absent or null.
  std::optional<uint64_t> optional_count(std::string_view key, uint64_t max = UINT32_MAX);
  bool boolean(std::string_view key);
  bool optional_boolean(std::string_view key, bool fallback);
  // Any value, required to be present.
  Value value(std::string_view key);
  Value optional_value(std::string_view key);
  // An object, required.
  Value object(std::string_view key);

  bool ok() const { return error_.empty(); }
  Status status() const;

 private:
  const Value* field(std::string_view key, bool required);
  // The required string member `key`; null (the error recorded) when absent or not a string.
  const Value* string_field(std::string_view key);
  void wrong_kind(std::string_view key, const Value& v, std::string_view expected);
  void not_an_integer(std::string_view key, const Value& v);

  const Value* body_ = nullptr;  // or, when null, fields_
  std::span<const BodyField> fields_;
  size_t next_ = 0;  // where field() starts looking in fields_
  std::string what_;
  std::string error_;
  bool consuming_ = false;  // made by consuming(): what it reads was never const
};

}  // namespace pl::protocol
