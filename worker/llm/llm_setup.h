// Wiring for main(): the real LLM services from the config file, and the executors of every
// LLM step type.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "worker/executor.h"
#include "worker/llm/llm_services.h"
#include "worker/providers/provider_config.h"

namespace pl::worker::llm {

// Reads `providers:` and `pricing:` from `config_path` ("" = defaults), meets the environment
// (keys, base URLs), and builds the services: libcurl HTTP, one provider per API (the mock where
// there is no key), and the unwired tools and sessions (see unwired_registry.h). Logs one line
// per provider saying live or mock, never a key. Errors name file:line:column. `clock` must
// outlive the services.
// `tools` and `sessions` are the registry-backed seams (registry_tools.h); tests may pass
// fakes, and nullptr gives the stand-ins that refuse clearly (unwired_registry.h).
Result<std::shared_ptr<const LlmServices>> load_llm_services(const std::string& config_path,
                                                             const Clock& clock,
                                                             const providers::EnvLookup& env,
                                                             std::unique_ptr<ToolInvoker> tools = nullptr,
                                                             std::unique_ptr<SessionStore> sessions = nullptr);

// Registers claude, gemini, llm, claude_session, claude_extract, claude_robust, claude_smart
// and gemini_instructor.
void add_llm_executors(ExecutorTable& table, const std::shared_ptr<const LlmServices>& services);

}  // namespace pl::worker::llm
