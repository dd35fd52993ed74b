// The request id of a frame that does not decode, so that a server can still answer it: a peer
// of another protocol version, or one sending a message type this side does not know, gets an
// error naming the problem ("protocol version 2, expected 1") instead of silence, which its
// client could only report as "nobody answers".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pl::protocol {

// Longer ids are not echoed: ours are a few dozen bytes.
inline constexpr size_t kMaxSalvagedRequestBytes = 256;

// The `request` member of `frame` when the frame is shaped like an envelope — an array of three
// whose third element is a map — whatever its version and type say and whatever follows it,
// and that member is a string of at most kMaxSalvagedRequestBytes; nullopt otherwise. When the
// key repeats the last one counts, as in decode(); the members after one that cannot be read
// are not looked at. For a frame that decode() accepts it reads what decode() reads.
//
// Never fails, whatever the bytes: one pass over the frame with decode()'s nesting limit, which
// builds nothing but the id.
std::optional<std::string> salvage_request_id(std::string_view frame);

// What is wrong with a message to a server that carries `frames` frames after the sender's
// identity rather than one request: said to the sender, with the first frame's salvaged id when
// there is one, and recorded with the server's bad frames.
std::string not_one_request(size_t frames);

}  // namespace pl::protocol
