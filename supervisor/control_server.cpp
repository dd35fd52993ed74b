#include "supervisor/control_server.h"

#include <spdlog/spdlog.h>

#include "common/protocol/envelope.h"
#include "common/protocol/request_id.h"

namespace pl::supervisor {

std::vector<ControlCall> ControlServer::receive() {
  std::vector<ControlCall> calls;
  for (int i = 0; i < 1000; ++i) {  // bounded: one flood must not starve the loop
    auto frames = router_.receive();
    if (!frames.ok()) {
      spdlog::warn("control socket: {}", frames.error().message);
      break;
    }
    if (!frames->has_value()) break;
    net::Frames& f = **frames;
    const std::string peer = f.empty() ? std::string() : f.front();
    if (f.size() != 2) {
      bad_frame(peer, "expected one frame, got " + std::to_string(f.size() - (f.empty() ? 0 : 1)));
      continue;
    }
    auto message = protocol::decode(f[1]);
    if (!message.ok()) {
      bad_frame(peer, message.error().message);
      // Another protocol version or an unknown type: say so, so the client need not time out.
      if (auto request_id = protocol::salvage_request_id(f[1])) {
        reply_error(peer, *request_id, ErrorCode::kInvalidInput, message.error().message);
      }
      continue;
    }
    const std::string request_id = message->body.get_string("request");
    if (message->type != protocol::MessageType::kControlRequest) {
      bad_frame(peer, "unexpected message type " +
                          std::string(protocol::message_type_name(message->type)));
      if (!request_id.empty()) {
        reply_error(peer, request_id, ErrorCode::kInvalidInput, "expected a control_request");
      }
      continue;
    }
    auto request = protocol::control_request_from(message->body);
    if (!request.ok()) {
      bad_frame(peer, request.error().message);
      if (!request_id.empty()) {
        reply_error(peer, request_id, ErrorCode::kInvalidInput, request.error().message);
      }
      continue;
    }
    calls.push_back(ControlCall{peer, std::move(*request)});
  }
  return calls;
}

void ControlServer::reply(const std::string& peer, const protocol::ControlReply& reply) {
  auto sent = router_.send(
      {peer, protocol::encode(protocol::MessageType::kControlReply, protocol::to_body(reply))});
  if (!sent.ok()) {
    spdlog::warn("control reply: {}", sent.error().message);
  } else if (*sent != net::SendOutcome::kSent) {
    spdlog::debug("control reply to a client that is gone");
  }
}

void ControlServer::reply_error(const std::string& peer, const std::string& request,
                                ErrorCode code, std::string message) {
  protocol::ControlReply r;
  r.request = request;
  r.ok = false;
  r.code = code;
  r.message = std::move(message);
  reply(peer, r);
}

void ControlServer::bad_frame(const std::string& peer, const std::string& why) {
  ++bad_frames_;
  (void)peer;
  // Rate limited: the 1st, 2nd, 4th, 8th ... bad frame is logged.
  if ((bad_frames_ & (bad_frames_ - 1)) == 0) {
    spdlog::warn("control socket: dropped a bad frame ({} so far): {}", bad_frames_, why);
  }
}

}  // namespace pl::supervisor
