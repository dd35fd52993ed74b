#include "cli/control_call.h"

#include "common/net/request_client.h"
#include "common/protocol/control.h"

namespace pl::cli {

Result<Value> control_call(net::Context& context, const std::string& endpoint,
                           const std::string& command, std::chrono::milliseconds timeout) {
  net::RequestClient supervisor(context, endpoint);
  protocol::ControlRequest request;
  request.command = command;
  request.args = Value::object();
  auto reply =
      supervisor.call(protocol::MessageType::kControlRequest, protocol::to_body(request), timeout);
  if (!reply.ok()) return std::move(reply).error();
  auto parsed = protocol::control_reply_from(reply->body);
  if (!parsed.ok()) return std::move(parsed).error();
  if (!parsed->ok) return make_error(parsed->code, parsed->message);
  return std::move(parsed->result);
}

}  // namespace pl::cli
