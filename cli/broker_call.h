// One request to the broker of the tree on the state directory, with a deadline, and the
// error handling every runs command shares: a client_error reply becomes an Error (its
// `unavailable` as kRetryLater: the broker is there, and cannot serve for now); no broker
// listening is tree_endpoint's error, at once (69, or 75 while the tree's broker starts or
// restarts); a broker that does not answer within the deadline is kTimeout (exit 75): it is
// busy or replaying runs after a restart, and asking again may work.
#pragma once

#include <chrono>
#include <filesystem>

#include "common/protocol/envelope.h"
#include "common/result.h"

namespace pl::cli {

Result<protocol::Message> call_broker(const std::filesystem::path& state_dir,
                                      protocol::MessageType type, Value body,
                                      std::chrono::milliseconds timeout);

}  // namespace pl::cli
