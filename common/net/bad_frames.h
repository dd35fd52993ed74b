// Counts frames that failed to decode and logs them without letting a noisy peer flood the
// log: at most one line per peer per interval, with how many were suppressed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"

namespace pl::net {

class BadFrameLog {
 public:
  // `socket_name` names the socket in log lines ("worker socket").
  explicit BadFrameLog(std::string socket_name, Duration interval = std::chrono::seconds(10));

  // Records one bad frame from `peer` (a routing id, printed in hex) and why it was bad.
  void record(std::string_view peer, std::string_view why, TimePoint now);
  uint64_t total() const { return total_; }

 private:
  struct PeerState {
    TimePoint last_logged{};
    uint64_t suppressed = 0;
  };
  std::string socket_name_;
  Duration interval_;
  uint64_t total_ = 0;
  std::unordered_map<std::string, PeerState> peers_;
};

// A routing id as printable text: hex, shortened when long.
std::string printable_peer(std::string_view routing_id);

}  // namespace pl::net
