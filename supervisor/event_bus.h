// Lifecycle events: each one stamped (seq, wall time), logged, kept in a bounded history (for
// `events`) and published on the PUB socket as [topic, envelope(kChildEvent)], topic
// "child.<kind>" so that subscribers can filter ("child.exited").
#pragma once

#include <cstdint>
#include <deque>

#include "common/clock.h"
#include "common/net/zmq_socket.h"
#include "common/protocol/control.h"
#include "common/value.h"
#include "supervisor/core_io.h"

namespace pl::supervisor {

class EventBus {
 public:
  // `pub` is bound already. Keeps the last `history` events.
  EventBus(net::Socket pub, size_t history);

  // Stamps, logs, publishes (never blocks: a slow subscriber loses events, not us) and keeps.
  const protocol::ChildEvent& publish(const PublishEvent& e, WallTime now);

  // {events: [...]}: the kept events with seq > `after`, oldest first, at most `limit`.
  Value history(uint64_t after, size_t limit) const;
  uint64_t last_seq() const { return seq_; }

 private:
  net::Socket pub_;
  size_t capacity_;
  uint64_t seq_ = 0;
  std::deque<protocol::ChildEvent> kept_;
};

}  // namespace pl::supervisor
