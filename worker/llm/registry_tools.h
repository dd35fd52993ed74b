// The registry-backed seams of the LLM executors: tools from the registry run by the worker's
// tool runner, and sessions kept in the registry.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/registry/registry_client.h"
#include "worker/llm/session_store.h"
#include "worker/llm/tool_invoker.h"
#include "worker/tool_catalog.h"

namespace pl::worker::llm {

// Claude Code's own tools, which pipeline_ex files name in allowed_tools. They are not ours:
// unless a tool of that name is registered, it is left out of the call with a warning instead of
// failing the step (the file still runs unchanged).
bool is_claude_code_builtin_tool(std::string_view name);

class RegistryToolInvoker final : public ToolInvoker {
 public:
  // `catalog` outlives this; `environment` is the worker's (for the tools' env_allow).
  RegistryToolInvoker(ToolCatalog& catalog, std::vector<std::string> environment);
  Result<std::vector<providers::ToolSpec>> describe(const std::vector<std::string>& names,
                                                    const providers::CallContext& call) override;
  Result<Value> invoke(const std::string& name, const Value& arguments,
                       const ToolRunContext& context) override;

 private:
  ToolCatalog& catalog_;
  std::vector<std::string> environment_;
};

class RegistrySessionStore final : public SessionStore {
 public:
  explicit RegistrySessionStore(RegistryClient& client) : client_(client) {}
  Result<Session> load(const std::string& name, const HistoryWindow& window,
                       const providers::CallContext& call) override;
  // Each call is bounded by the registry client's own deadline and retries
  // (registry_client.h) and by the item's deadline and cancellation, whichever ends first.
  Result<int64_t> append(const TurnAppend& turn, const providers::CallContext& call) override;
  // Asked from the registry's status once, then remembered for the worker's life: a registry
  // restarted with another max_turn_bytes is seen by workers started after it (until then the
  // append still refuses a turn over the new limit).
  Result<int64_t> max_turn_bytes(const providers::CallContext& call) override;

 private:
  RegistryClient& client_;
  std::mutex mutex_;
  std::optional<int64_t> max_turn_bytes_;  // guarded by mutex_
};

}  // namespace pl::worker::llm
