// Asks the broker for its status (broker_status on its client socket) without ever blocking
// the supervisor's loop: one round at a time, ended by the reply or by the deadline. The socket
// exists only during a round, so an idle supervisor holds none and a broker that was down
// leaves no queued request behind.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/net/zmq_socket.h"
#include "common/value.h"

namespace pl::supervisor {

class BrokerProbe {
 public:
  struct Outcome {
    std::optional<Value> status;  // nullopt: no answer in time (or no endpoint)
    std::string error;
    double seconds = 0;
  };

  BrokerProbe(net::Context& context, std::string endpoint, std::chrono::milliseconds timeout)
      : context_(context), endpoint_(std::move(endpoint)), timeout_(timeout) {}

  // Starts a round unless one is under way.
  void ask(TimePoint now);
  bool asking() const { return socket_ != nullptr; }
  // The socket to poll while asking; nullptr otherwise.
  void* socket() const { return socket_ ? socket_->raw() : nullptr; }
  // Ends the round when the reply is there or the deadline has passed; call after every poll
  // (ZeroMQ readiness is edge-like). nullopt while the round goes on.
  std::optional<Outcome> poll(TimePoint now);
  std::optional<TimePoint> deadline() const {
    return socket_ ? std::optional<TimePoint>(deadline_) : std::nullopt;
  }

 private:
  Outcome finish(std::optional<Value> status, std::string error, TimePoint now);

  net::Context& context_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<net::Socket> socket_;
  std::string request_id_;
  std::string failed_;  // the round failed before a reply could come
  TimePoint started_{};
  TimePoint deadline_{};
  uint64_t rounds_ = 0;
};

}  // namespace pl::supervisor
