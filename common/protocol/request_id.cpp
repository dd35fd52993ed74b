#include "common/protocol/request_id.h"

#include "common/protocol/envelope.h"
#include "common/protocol/msgpack_reader.h"

namespace pl::protocol {

std::optional<std::string> salvage_request_id(std::string_view frame) {
  const DecodeLimits limits;
  MsgpackReader reader(frame, ReaderLimits{limits.max_depth, limits.max_elements,
                                           limits.max_string_bytes});
  auto parts = reader.read_array_header();
  if (!parts.ok() || *parts != 3) return std::nullopt;
  // The version and the type, whatever they are: they are why decode() refused the frame.
  for (int i = 0; i < 2; ++i) {
    if (!reader.skip_at(1).ok()) return std::nullopt;
  }
  if (!reader.at_map()) return std::nullopt;
  auto count = reader.read_map_header(1);
  if (!count.ok()) return std::nullopt;
  std::optional<std::string> id;
  for (size_t i = 0; i < *count; ++i) {
    auto key = reader.read_key();
    if (!key.ok()) break;
    if (*key != "request") {
      if (!reader.skip_at(2).ok()) break;
      continue;
    }
    auto value = reader.read_at(2);
    if (!value.ok()) break;
    id.reset();
    if (value->is_string() && value->as_string().size() <= kMaxSalvagedRequestBytes) {
      id = std::move(value->as_string());
    }
  }
  return id;
}

std::string not_one_request(size_t frames) {
  if (frames == 0) return "a message with no request";
  return "one request per message; this one has " + std::to_string(frames) + " frames";
}

}  // namespace pl::protocol
