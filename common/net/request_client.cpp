#include "common/net/request_client.h"

#include <algorithm>

#include "common/clock.h"
#include "common/ids.h"

namespace pl::net {

RequestClient::RequestClient(Context& context, std::string endpoint, const SocketOptions& options)
    : context_(context),
      endpoint_(std::move(endpoint)),
      socket_(context_, SocketKind::kDealer, options) {
  connect_status_ = socket_.connect(endpoint_);
}

Result<protocol::Message> RequestClient::call(protocol::MessageType type, Value body,
                                              std::chrono::milliseconds timeout,
                                              const std::function<bool()>& stop) {
  if (!connect_status_.ok()) return connect_status_.error();
  const std::string request_id = new_id("q");
  body["request"] = request_id;
  auto sent = socket_.send({protocol::encode(type, body)});
  if (!sent.ok()) return std::move(sent).error();
  if (*sent != SendOutcome::kSent) {
    return make_error(ErrorCode::kUnavailable, "cannot queue a request to " + endpoint_);
  }
  const TimePoint deadline = SteadyClock::now() + timeout;
  std::vector<PollEntry> entries{{socket_.raw(), -1, false}};
  for (;;) {
    if (stop && stop()) {
      return make_error(ErrorCode::kCancelled, "stopped waiting for a reply from " + endpoint_);
    }
    const int64_t left_ms = millis_until(deadline, SteadyClock::now());
    const int64_t wait_ms = stop ? std::min<int64_t>(left_ms, kStopCheckInterval.count()) : left_ms;
    auto polled = poll(entries, wait_ms);
    if (!polled.ok()) return std::move(polled).error();
    if (*polled == 0) {
      if (left_ms == 0) {
        return make_error(ErrorCode::kTimeout, "no reply from " + endpoint_ + " within " +
                                                   std::to_string(timeout.count()) + " ms");
      }
      continue;
    }
    for (;;) {
      auto frames = socket_.receive();
      if (!frames.ok()) return std::move(frames).error();
      if (!frames->has_value()) break;
      if ((*frames)->size() != 1) continue;
      auto message = protocol::decode((*frames)->front());
      if (!message.ok()) continue;  // a garbled reply is as good as none: keep waiting
      if (message->body.get_string("request") == request_id) return std::move(*message);
    }
  }
}

Result<std::optional<protocol::Message>> RequestClient::next_push(
    std::chrono::milliseconds timeout) {
  const TimePoint deadline = SteadyClock::now() + timeout;
  std::vector<PollEntry> entries{{socket_.raw(), -1, false}};
  for (;;) {
    auto frames = socket_.receive();
    if (!frames.ok()) return std::move(frames).error();
    if (frames->has_value()) {
      if ((*frames)->size() == 1) {
        auto message = protocol::decode((*frames)->front());
        if (message.ok() && message->body.get_string("request").empty()) {
          return std::optional<protocol::Message>(std::move(*message));
        }
      }
      continue;
    }
    const int64_t wait_ms = millis_until(deadline, SteadyClock::now());
    if (wait_ms == 0) return std::optional<protocol::Message>();
    auto polled = poll(entries, wait_ms);
    if (!polled.ok()) return std::move(polled).error();
  }
}

}  // namespace pl::net
