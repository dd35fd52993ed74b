#include "common/net/bad_frames.h"

#include <spdlog/spdlog.h>

namespace pl::net {

BadFrameLog::BadFrameLog(std::string socket_name, Duration interval)
    : socket_name_(std::move(socket_name)), interval_(interval) {}

void BadFrameLog::record(std::string_view peer, std::string_view why, TimePoint now) {
  ++total_;
  if (peers_.size() > 10000) peers_.clear();  // bounded: a flood of new peers cannot grow it
  PeerState& state = peers_[std::string(peer)];
  if (state.last_logged != TimePoint{} && now - state.last_logged < interval_) {
    ++state.suppressed;
    return;
  }
  spdlog::warn("{}: dropped a bad frame from peer {}: {}{}", socket_name_, printable_peer(peer),
               why,
               state.suppressed ? " (" + std::to_string(state.suppressed) + " more since last report)"
                                : std::string());
  state.last_logged = now;
  state.suppressed = 0;
}

std::string printable_peer(std::string_view routing_id) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool printable = !routing_id.empty();
  for (char c : routing_id) printable = printable && c >= 0x21 && c < 0x7f;
  if (printable) return std::string(routing_id.substr(0, 48));
  std::string out;
  for (size_t i = 0; i < routing_id.size() && i < 16; ++i) {
    const auto b = static_cast<unsigned char>(routing_id[i]);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace pl::net
