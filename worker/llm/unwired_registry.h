// The stand-ins for the registry-backed ToolInvoker and SessionStore, for LLM services built
// without a registry (tests, tools that only call providers). A worker always passes the real
// ones (worker/main.cpp). They refuse clearly instead of pretending:
//   - UnwiredToolInvoker: describe() and invoke() fail with kStepFailed "tools are not
//     available on this worker (...)" (not kUnavailable: retrying cannot help, and the broker
//     would count kUnavailable against the LLM provider's circuit breaker). A step that
//     allows tools therefore fails before calling the model, naming the tools.
//   - UnwiredSessionStore: load(), append() and max_turn_bytes() fail with kStepFailed
//     "sessions are not available on this worker (...)". claude_session steps and
//     session_context prompt parts fail; nothing is silently forgotten.
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
  Result<Session> load(const std::string& name, const HistoryWindow& window,
                       const providers::CallContext& call) override;
  Result<int64_t> append(const TurnAppend& turn, const providers::CallContext& call) override;
  Result<int64_t> max_turn_bytes(const providers::CallContext& call) override;
};

}  // namespace pl::worker::llm
