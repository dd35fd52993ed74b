// Watches a socket's CURVE handshakes through a ZeroMQ socket monitor, so that failures that
// never reach the ZAP handler are seen and logged: a client without CURVE, a client using the
// wrong server key (server side), or a refusal by the server (client side).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net/zmq_socket.h"
#include "common/result.h"

namespace pl::net {

struct HandshakeEvent {
  enum class Kind { kSucceeded, kFailedNoDetail, kFailedProtocol, kFailedAuth };
  Kind kind = Kind::kFailedNoDetail;
  uint32_t value = 0;    // errno (no detail), a ZMQ_PROTOCOL_ERROR_* code, or the ZAP status
  std::string endpoint;  // the endpoint ZeroMQ names: the bound one on a server
};

// What went wrong, in words, for a log line: "the client does not use CURVE (plaintext?)".
// `server_side` chooses the point of view.
std::string describe_handshake(const HandshakeEvent& event, bool server_side);

// Decodes a monitor message (event frame, endpoint frame). nullopt for other events.
std::optional<HandshakeEvent> parse_monitor_message(const Frames& frames);

class HandshakeMonitor {
 public:
  // Starts monitoring `socket`'s handshakes into a PAIR socket of `context`. A failure shows in
  // status(); the monitor then reports nothing.
  HandshakeMonitor(Context& context, Socket& socket);
  ~HandshakeMonitor();
  HandshakeMonitor(const HandshakeMonitor&) = delete;
  HandshakeMonitor& operator=(const HandshakeMonitor&) = delete;

  const Status& status() const { return status_; }
  // The PAIR socket to poll for readability.
  void* raw() const { return pair_.raw(); }
  // Every handshake event waiting, without blocking.
  std::vector<HandshakeEvent> drain();

 private:
  void* monitored_;
  Socket pair_;
  Status status_;
};

}  // namespace pl::net
