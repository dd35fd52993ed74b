#include "common/state_paths.h"

#include <cstdlib>

#include "common/fs.h"
#include "common/net/zmq_socket.h"

namespace pl {

std::filesystem::path resolve_state_dir(std::string_view flag, std::string_view config_value) {
  if (!flag.empty()) return absolute_path(std::filesystem::path(flag));
  if (const char* env = std::getenv(kStateDirEnv); env && *env) return absolute_path(env);
  if (!config_value.empty()) return absolute_path(std::filesystem::path(config_value));
  return absolute_path("./var");
}

Result<std::string> StatePaths::ipc(std::string_view name) const {
  return net::ipc_endpoint((dir_ / name).string());
}

}  // namespace pl
