#include "cli/broker_call.h"

#include "cli/cli_context.h"
#include "cli/tree_sockets.h"
#include "common/net/request_client.h"
#include "common/protocol/client.h"

namespace pl::cli {

Result<protocol::Message> call_broker(const std::filesystem::path& state_dir,
                                      protocol::MessageType type, Value body,
                                      std::chrono::milliseconds timeout) {
  auto endpoint = tree_endpoint(state_dir, TreeSocket::kBroker);
  if (!endpoint.ok()) return std::move(endpoint).error();
  net::Context context;
  net::RequestClient client(context, *endpoint);
  auto reply = client.call(type, std::move(body), timeout);
  if (!reply.ok()) {
    if (reply.error().code == ErrorCode::kTimeout) {
      return make_error(ErrorCode::kTimeout,
                        "the broker on " + state_dir.string() + " did not answer within " +
                            std::to_string(timeout.count()) +
                            " ms (busy, or replaying runs after a restart); try again");
    }
    return std::move(reply).error();
  }
  if (reply->type == protocol::MessageType::kClientError) {
    auto error = protocol::client_error_from(reply->body);
    if (!error.ok()) return std::move(error).error();
    // A broker that answers it cannot serve for now (its disk is full) is not one that is gone:
    // exit 75 (try again), not 69 (nothing runs).
    const ErrorCode code =
        error->code == ErrorCode::kUnavailable ? ErrorCode::kRetryLater : error->code;
    return make_error(code, error->message);
  }
  return reply;
}

}  // namespace pl::cli
