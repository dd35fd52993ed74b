#include "cli/tree_sockets.h"

#include "common/state_paths.h"

namespace pl::cli {

Result<std::string> tree_endpoint(const std::filesystem::path& state_dir, TreeSocket which) {
  const StatePaths paths(state_dir);
  const char* file = "control.sock";
  const char* process = "supervisor";
  Result<std::string> endpoint = paths.control_endpoint();
  if (which == TreeSocket::kBroker) {
    file = "broker-clients.sock";
    process = "broker";
    endpoint = paths.broker_clients_endpoint();
  } else if (which == TreeSocket::kRegistry) {
    file = "registry.sock";
    process = "registry";
    endpoint = paths.registry_endpoint();
  }
  if (!endpoint.ok()) return endpoint;
  std::error_code ignored;
  if (!std::filesystem::exists(paths.dir() / file, ignored)) {
    return make_error(ErrorCode::kUnavailable, "no " + std::string(process) + " runs on " +
                                                   paths.dir().string() + " (no " + file +
                                                   "); is a tree running there?");
  }
  return endpoint;
}

}  // namespace pl::cli
