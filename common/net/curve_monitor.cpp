#include "common/net/curve_monitor.h"

#include <zmq.h>

#include <cstring>

#include "common/ids.h"

namespace pl::net {
namespace {

constexpr int kHandshakeEvents =
    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

}  // namespace

std::optional<HandshakeEvent> parse_monitor_message(const Frames& frames) {
  if (frames.size() != 2 || frames[0].size() != 6) return std::nullopt;
  uint16_t event = 0;
  uint32_t value = 0;
  std::memcpy(&event, frames[0].data(), 2);
  std::memcpy(&value, frames[0].data() + 2, 4);
  HandshakeEvent out;
  switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      out.kind = HandshakeEvent::Kind::kSucceeded;
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      out.kind = HandshakeEvent::Kind::kFailedNoDetail;
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      out.kind = HandshakeEvent::Kind::kFailedProtocol;
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      out.kind = HandshakeEvent::Kind::kFailedAuth;
      break;
    default:
      return std::nullopt;
  }
  out.value = value;
  out.endpoint = frames[1].substr(0, 256);
  return out;
}

std::string describe_handshake(const HandshakeEvent& event, bool server_side) {
  switch (event.kind) {
    case HandshakeEvent::Kind::kSucceeded:
      return "handshake succeeded";
    case HandshakeEvent::Kind::kFailedAuth:
      return server_side
                 ? "a client was refused by the ZAP handler (status " +
                       std::to_string(event.value) + ")"
                 : "the server refused this client's key (status " + std::to_string(event.value) +
                       "): is its public key in the " + "server's allow-list?";
    case HandshakeEvent::Kind::kFailedProtocol:
      switch (event.value) {
        case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
          return server_side ? "a client without CURVE (plaintext?) was refused"
                             : "the server does not speak CURVE (or this client does not)";
        case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
        case ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE:
          return server_side ? "a client failed the CURVE key exchange (wrong server public key?)"
                             : "the CURVE key exchange failed (wrong server public key?)";
        default:
          return "CURVE handshake protocol error 0x" + [&] {
            char hex[16];
            std::snprintf(hex, sizeof hex, "%08x", event.value);
            return std::string(hex);
          }();
      }
    case HandshakeEvent::Kind::kFailedNoDetail:
      return server_side ? "a client's handshake failed (" +
                               std::string(zmq_strerror(static_cast<int>(event.value))) +
                               "): a client without CURVE, or with the wrong server public key?"
                         : "the handshake failed (" +
                               std::string(zmq_strerror(static_cast<int>(event.value))) +
                               "): a wrong server public key, a server without CURVE, or not ours";
  }
  return "handshake event";
}

HandshakeMonitor::HandshakeMonitor(Context& context, Socket& socket)
    : monitored_(socket.raw()), pair_(context, SocketKind::kPair) {
  const std::string endpoint = "inproc://pl-handshake-" + new_id("m");
  if (zmq_socket_monitor(monitored_, endpoint.c_str(), kHandshakeEvents) != 0) {
    status_ =
        make_error(ErrorCode::kIo, std::string("zmq_socket_monitor: ") + zmq_strerror(zmq_errno()));
    monitored_ = nullptr;
    return;
  }
  status_ = pair_.connect(endpoint);
}

HandshakeMonitor::~HandshakeMonitor() = default;

std::vector<HandshakeEvent> HandshakeMonitor::drain() {
  std::vector<HandshakeEvent> events;
  if (!status_.ok()) return events;
  for (int n = 0; n < 1024; ++n) {
    auto frames = pair_.receive();
    if (!frames.ok() || !frames->has_value()) break;
    if (auto event = parse_monitor_message(**frames)) events.push_back(std::move(*event));
  }
  return events;
}

}  // namespace pl::net
