#include "supervisor/broker_probe.h"

#include "common/protocol/client.h"
#include "common/protocol/envelope.h"

namespace pl::supervisor {

using protocol::MessageType;

void BrokerProbe::ask(TimePoint now) {
  if (socket_) return;
  started_ = now;
  deadline_ = now + timeout_;
  request_id_ = "metrics-" + std::to_string(++rounds_);
  net::SocketOptions options;
  options.send_hwm = 1;
  options.recv_hwm = 16;
  socket_ = std::make_unique<net::Socket>(context_, net::SocketKind::kDealer, options);
  if (auto st = socket_->connect(endpoint_); !st.ok()) {
    failed_ = st.error().message;
    return;
  }
  Value body = Value::object();
  body["request"] = request_id_;
  auto sent = socket_->send({protocol::encode(MessageType::kBrokerStatusRequest, body)});
  if (!sent.ok()) {
    failed_ = sent.error().message;
  } else if (*sent != net::SendOutcome::kSent) {
    failed_ = "cannot queue a request to " + endpoint_;
  }
}

BrokerProbe::Outcome BrokerProbe::finish(std::optional<Value> status, std::string error,
                                         TimePoint now) {
  socket_.reset();  // linger 0: nothing stays queued
  failed_.clear();
  Outcome o;
  o.status = std::move(status);
  o.error = std::move(error);
  o.seconds = std::chrono::duration<double>(now - started_).count();
  return o;
}

std::optional<BrokerProbe::Outcome> BrokerProbe::poll(TimePoint now) {
  if (!socket_) return std::nullopt;
  if (!failed_.empty()) return finish(std::nullopt, failed_, now);
  for (int i = 0; i < 64; ++i) {
    auto frames = socket_->receive();
    if (!frames.ok()) return finish(std::nullopt, frames.error().message, now);
    if (!frames->has_value()) break;
    if ((*frames)->size() != 1) continue;
    auto message = protocol::decode((*frames)->front());
    if (!message.ok() || message->body.get_string("request") != request_id_) continue;
    if (message->type != MessageType::kBrokerStatus) {
      return finish(std::nullopt,
                    "the broker answered " +
                        std::string(protocol::message_type_name(message->type)) + ": " +
                        message->body.get_string("message"),
                    now);
    }
    return finish(std::move(message->body), "", now);
  }
  if (now >= deadline_) {
    return finish(std::nullopt,
                  "no answer within " + std::to_string(timeout_.count()) + " ms on " + endpoint_,
                  now);
  }
  return std::nullopt;
}

}  // namespace pl::supervisor
