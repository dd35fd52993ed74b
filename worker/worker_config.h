// The `worker:` section of the config file, plus command-line overrides.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/net/curve_config.h"
#include "common/result.h"

namespace pl::worker {

struct WorkerConfig {
  std::string name;             // PIPELINE_CHILD_NAME, else host:pid
  uint32_t slots = 1;           // items run at once
  std::string broker_endpoint;  // "" = the state directory's broker-workers.sock
  std::string registry_endpoint;  // "" = the state directory's registry.sock
  // Reported to the broker and stamped into results: this host's name (default: gethostname()).
  // Set it when hosts may share a name (containers, network namespaces): the broker applies
  // its supervisor's process-exit events only to workers whose host is its own.
  std::string host;
  // `curve:` keys for tcp:// endpoints (required by them; docs/multi-host.md).
  std::optional<net::CurveClientSetup> curve;
  Duration heartbeat = std::chrono::seconds(1);  // until the broker's welcome says otherwise
  uint32_t liveness = 3;
  uint64_t max_items = 0;  // recycle (exit 0 for a fresh process) after this many; 0 = never
  std::filesystem::path state_dir;
};

// Reads `worker:` from `config_path` ("" = no file: defaults). Errors name file:line:column.
Result<WorkerConfig> load_worker_config(const std::string& config_path);

}  // namespace pl::worker
