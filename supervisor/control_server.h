// The control socket: a ROUTER at StatePaths::control_endpoint() receiving one-frame
// kControlRequest envelopes and answering kControlReply (common/protocol/control.h; commands
// in docs/control-api.md). Untrusted input: a frame that does not decode is counted and logged
// (rate limited) and, when a request id can be read from it, answered with an error; it never
// stops the supervisor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/net/zmq_socket.h"
#include "common/protocol/control.h"

namespace pl::supervisor {

struct ControlCall {
  std::string peer;  // the client's routing id
  protocol::ControlRequest request;
};

class ControlServer {
 public:
  explicit ControlServer(net::Socket router) : router_(std::move(router)) {}
  void* socket() const { return router_.raw(); }

  // Every well-formed request waiting now.
  std::vector<ControlCall> receive();
  // Sends a reply; a client that has gone away is not an error.
  void reply(const std::string& peer, const protocol::ControlReply& reply);
  void reply_error(const std::string& peer, const std::string& request, ErrorCode code,
                   std::string message);

  uint64_t bad_frames() const { return bad_frames_; }

 private:
  void bad_frame(const std::string& peer, const std::string& why);
  net::Socket router_;
  uint64_t bad_frames_ = 0;
};

}  // namespace pl::supervisor
