// Where the worker gets tool definitions: the registry, through a short-lived cache.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/registry/registry_client.h"
#include "common/registry/tool_definition.h"
#include "common/result.h"
#include "worker/cancel_token.h"

namespace pl::worker {

// What bounds a registry call made for an item: the item's deadline and its cancellation, so
// that a registry that does not answer holds the item no longer than the item may run.
CallLimit item_call_limit(TimePoint deadline, const CancelToken* cancel);

class ToolCatalog {
 public:
  virtual ~ToolCatalog() = default;
  // The definition of `name`. kNotFound when no such tool is registered; kUnavailable when the
  // registry does not answer (retryable); kTimeout or kCancelled when `limit` ends the wait.
  virtual Result<ToolDefinition> find(const std::string& name, const CallLimit& limit) = 0;
};

// Definitions fetched from the registry and kept for `ttl` (so a run of many tool steps asks
// once, and an update is seen within `ttl`). Misses and errors are not cached. At most
// kMaxEntries are kept; when full, the cache starts over. Thread-safe.
class RegistryToolCatalog final : public ToolCatalog {
 public:
  static constexpr size_t kMaxEntries = 1024;

  // `client` and `clock` outlive the catalog.
  RegistryToolCatalog(RegistryClient& client, const Clock& clock,
                      Duration ttl = std::chrono::seconds(5));
  Result<ToolDefinition> find(const std::string& name, const CallLimit& limit) override;

 private:
  struct Entry {
    ToolDefinition definition;
    TimePoint fetched;
  };
  RegistryClient& client_;
  const Clock& clock_;
  Duration ttl_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace pl::worker
