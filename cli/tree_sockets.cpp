#include "cli/tree_sockets.h"

#include <string_view>

#include "common/state_paths.h"

namespace pl::cli {

Result<std::string> tree_endpoint(const std::filesystem::path& state_dir, TreeSocket which) {
  const StatePaths paths(state_dir);
  const char* process = which == TreeSocket::kBroker     ? "broker"
                        : which == TreeSocket::kRegistry ? "registry"
                                                         : "supervisor";
  Result<std::string> endpoint = which == TreeSocket::kBroker     ? paths.broker_clients_endpoint()
                                 : which == TreeSocket::kRegistry ? paths.registry_endpoint()
                                                                  : paths.control_endpoint();
  if (!endpoint.ok()) return endpoint;
  // StatePaths' endpoints are "ipc://" + the socket file's path.
  const std::filesystem::path socket = endpoint->substr(std::string_view("ipc://").size());
  std::error_code ignored;
  if (!std::filesystem::exists(socket, ignored)) {
    return make_error(ErrorCode::kUnavailable, "no " + std::string(process) + " runs on " +
                                                   paths.dir().string() + " (no " +
                                                   socket.filename().string() +
                                                   "); is a tree running there?");
  }
  return endpoint;
}

}  // namespace pl::cli
