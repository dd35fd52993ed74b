// WIRING POINT: the stand-ins for the registry-backed ToolInvoker and SessionStore.
//
// The registry client (common/registry/registry_client.h) and the worker's tool runner
// (worker/tool_runner.h) are built in parallel and not merged yet. Until they are, a worker
// uses these, which refuse clearly instead of pretending:
//   - UnwiredToolInvoker: describe() and invoke() fail with kStepFailed "tools are not
//     available on this worker (...)" (not kUnavailable: retrying cannot help, and the broker
//     would count kUnavailable against the LLM provider's circuit breaker). A step that
//     allows tools therefore fails before calling the model, naming the tools.
//   - UnwiredSessionStore: load() and append() fail with kStepFailed "sessions are not
//     available on this worker (...)". claude_session steps and session_context prompt parts
//     fail; nothing is silently forgotten.
// To wire: implement ToolInvoker over registry_client (fetch definitions: name, description,
// input schema) and tool_runner (run_tool(definition, args, context)), and SessionStore over the
// registry's session messages (load last N, append with expected version), then construct them
// in llm_setup.cpp instead of these.
#pragma once

#include "worker/llm/session_store.h"
#include "worker/llm/tool_invoker.h"

namespace pl::worker::llm {

class UnwiredToolInvoker final : public ToolInvoker {
 public:
  Result<std::vector<providers::ToolSpec>> describe(const std::vector<std::string>& names,
                                                    const providers::CallContext& call) override;
  Result<Value> invoke(const std::string& name, const Value& arguments,
                       const ToolRunContext& context) override;
};

class UnwiredSessionStore final : public SessionStore {
 public:
  Result<SessionSnapshot> load(const std::string& name, size_t last_n,
                               const providers::CallContext& call) override;
  Result<int64_t> append(const std::string& name, const std::vector<SessionTurn>& turns,
                         int64_t expected_version, const providers::CallContext& call) override;
};

}  // namespace pl::worker::llm
