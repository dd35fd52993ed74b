// The `registry:` section of the config file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/net/zap_handler.h"
#include "common/result.h"
#include "registry/registry_core.h"
#include "registry/sqlite_store.h"

namespace pl::registry {

struct RegistryConfig {
  std::string endpoint;            // "" = the state directory's registry.sock
  // A second endpoint for workers on other hosts ("tcp://ADDR:PORT"), beside `endpoint`, which
  // stays for local clients; "" = none.
  std::string tcp_endpoint;
  // `curve:` keys, required by tcp:// endpoints (docs/multi-host.md).
  std::optional<net::CurveServerSetup> curve;
  std::filesystem::path database;  // "" = the state directory's registry.db
  SqliteStoreOptions store;  // synchronous, deferred_sync, busy_timeout_ms, page_size, ...
  RegistryLimits limits;
  int max_batch = 1024;            // requests applied and committed together, at most
  int64_t maintenance_interval_ms = 60'000;  // forgetting old idempotency ids
  std::filesystem::path state_dir;
};

// Reads `registry:` from `config_path` ("" = defaults). Errors name file:line:column.
Result<RegistryConfig> load_registry_config(const std::string& config_path);

}  // namespace pl::registry
