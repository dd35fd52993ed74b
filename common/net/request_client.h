// A request/reply client over a DEALER: sends one request, waits for the reply that echoes its
// "request" id, up to a deadline. Replies with another id (late answers to earlier requests)
// are dropped. Used by pipelinectl and by processes that ask each other questions.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/net/zmq_socket.h"
#include "common/protocol/envelope.h"
#include "common/result.h"

namespace pl::net {

class RequestClient {
 public:
  // Connects at once; ZeroMQ queues requests until the server is there. `options` carry CURVE
  // client keys for a tcp:// endpoint.
  RequestClient(Context& context, std::string endpoint, const SocketOptions& options = {});

  // Sends `body` (an object; its "request" member is set to a fresh id) as a `type` message and
  // returns the matching reply. kTimeout when none arrives within `timeout`; kUnavailable when
  // the request cannot even be queued. `stop`, when given, is asked at least every
  // kStopCheckInterval while waiting: when it says true, the wait ends with kCancelled.
  Result<protocol::Message> call(protocol::MessageType type, Value body,
                                 std::chrono::milliseconds timeout,
                                 const std::function<bool()>& stop = {});

  static constexpr std::chrono::milliseconds kStopCheckInterval{50};

  // Waits for one more message that is not a reply to a request (a push, such as a watched
  // run's final status), up to `timeout`. nullopt on timeout.
  Result<std::optional<protocol::Message>> next_push(std::chrono::milliseconds timeout);

  const std::string& endpoint() const { return endpoint_; }

 private:
  Context& context_;
  std::string endpoint_;
  Socket socket_;
  Status connect_status_;
};

}  // namespace pl::net
