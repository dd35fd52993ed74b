#include "worker/tool_catalog.h"

namespace pl::worker {

CallLimit item_call_limit(TimePoint deadline, const CancelToken* cancel) {
  CallLimit limit;
  limit.deadline = deadline;
  if (cancel) limit.cancelled = [cancel] { return cancel->cancelled(); };
  return limit;
}

RegistryToolCatalog::RegistryToolCatalog(RegistryClient& client, const Clock& clock, Duration ttl)
    : client_(client), clock_(clock), ttl_(ttl) {}

Result<ToolDefinition> RegistryToolCatalog::find(const std::string& name, const CallLimit& limit) {
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it != entries_.end() && clock_.now() - it->second.fetched < ttl_) return it->second.definition;
  }
  auto stored = client_.get_tool(name, limit);  // not under the lock: other lookups go on meanwhile
  if (!stored.ok()) return std::move(stored).error();
  std::lock_guard lock(mutex_);
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_[name] = Entry{stored->definition, clock_.now()};
  return std::move(stored->definition);
}

}  // namespace pl::worker
