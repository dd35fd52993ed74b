// The `broker:` section of the config file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "broker/dispatcher.h"
#include "broker/run_retention.h"
#include "broker/run_store.h"
#include "common/clock.h"
#include "common/config/llm_provider.h"
#include "common/net/zap_handler.h"
#include "common/result.h"

namespace pl::broker {

struct BrokerConfig {
  Duration heartbeat = std::chrono::seconds(1);
  uint32_t liveness = 3;
  int64_t default_timeout_ms = 300000;  // a step's deadline when it sets none
  uint32_t default_max_parallel = 8;    // a parallel loop's width when it sets none
  uint32_t poison_threshold = 3;
  Duration deadline_grace = std::chrono::seconds(2);
  Duration cancel_grace = std::chrono::seconds(10);  // then a worker holding on is killed
  Duration max_retry_after = std::chrono::minutes(10);  // longest provider wait honoured
  size_t max_outstanding_items = 20000;  // queued + in flight + waiting to retry, all runs
  std::map<std::string, ProviderLimits> providers;
  ProviderLimits default_provider;
  // `providers.default_provider` (the workers' section): whom an `llm` step that names no
  // provider calls, so whose limits and breaker its items count against.
  std::string default_llm_provider = std::string(kDefaultLlmProvider);
  size_t finished_runs_kept = 1000;     // in memory, for status queries
  RetentionSettings retention;          // how long broker.db keeps finished runs
  size_t max_running_runs = 1000;       // submissions beyond are refused with retry_later
  std::string clients_endpoint;         // "" = the state directory's broker-clients.sock
  std::string workers_endpoint;         // "" = the state directory's broker-workers.sock
  SqliteRunStoreOptions store;          // synchronous: full|normal, deferred_sync
  // `curve:` keys for tcp:// endpoints (required by them; docs/multi-host.md).
  std::optional<net::CurveServerSetup> curve;
  std::filesystem::path state_dir;
};

// Reads `broker:` and `providers.default_provider` from `config_path` ("" = defaults). Errors
// name file:line:column.
Result<BrokerConfig> load_broker_config(const std::string& config_path);

}  // namespace pl::broker
