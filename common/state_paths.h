// The layout of a state directory: every socket, lock, database and log a tree keeps there.
// One place, so that the supervisor, the processes it runs and pipelinectl agree.
//
// The directory itself is mode 0700; sockets inside are mode 0600 (DESIGN.md §8).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pl {

// Where the state directory is, by precedence: the --state-dir flag, then PIPELINE_STATE_DIR,
// then the config's supervisor.state_dir, then "./var". The result is absolute.
std::filesystem::path resolve_state_dir(std::string_view flag, std::string_view config_value);

class StatePaths {
 public:
  explicit StatePaths(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }

  // ZeroMQ endpoints ("ipc://..."). Fail when the path is too long for a Unix socket.
  Result<std::string> control_endpoint() const { return ipc("control.sock"); }
  Result<std::string> events_endpoint() const { return ipc("events.sock"); }
  Result<std::string> broker_clients_endpoint() const { return ipc("broker-clients.sock"); }
  Result<std::string> broker_workers_endpoint() const { return ipc("broker-workers.sock"); }
  Result<std::string> registry_endpoint() const { return ipc("registry.sock"); }

  // The supervisor's datagram socket for READY=1 / WATCHDOG=1 / STATUS= from its children.
  std::filesystem::path notify_socket() const { return dir_ / "notify.sock"; }
  // Held (flock, exclusive) by the one supervisor running on this directory.
  std::filesystem::path supervisor_lock() const { return dir_ / "supervisor.lock"; }
  std::filesystem::path broker_db() const { return dir_ / "broker.db"; }
  std::filesystem::path registry_db() const { return dir_ / "registry.db"; }
  std::filesystem::path log_dir() const { return dir_ / "logs"; }

 private:
  Result<std::string> ipc(std::string_view name) const;
  std::filesystem::path dir_;
};

// Environment variables our processes read. The supervisor sets them for its children.
inline constexpr const char* kStateDirEnv = "PIPELINE_STATE_DIR";
inline constexpr const char* kConfigEnv = "PIPELINE_CONFIG";      // absolute config path
inline constexpr const char* kChildNameEnv = "PIPELINE_CHILD_NAME";
// How long the supervisor waits after SIGTERM before SIGKILL, in ms (its `shutdown`; 0 for
// brutal_kill): what a child has to finish its work in.
inline constexpr const char* kShutdownGraceEnv = "PIPELINE_SHUTDOWN_MS";

}  // namespace pl
