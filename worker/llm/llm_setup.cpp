#include "worker/llm/llm_setup.h"

#include <spdlog/spdlog.h>

#include "common/config/yaml_document.h"
#include "worker/executors/claude_executor.h"
#include "worker/executors/claude_extract_executor.h"
#include "worker/executors/claude_robust_executor.h"
#include "worker/executors/claude_session_executor.h"
#include "worker/executors/claude_smart_executor.h"
#include "worker/executors/gemini_executor.h"
#include "worker/executors/gemini_instructor_executor.h"
#include "worker/executors/llm_executor.h"
#include "worker/llm/unwired_registry.h"
#include "worker/providers/curl_http_client.h"

namespace pl::worker::llm {

Result<std::shared_ptr<const LlmServices>> load_llm_services(const std::string& config_path,
                                                             const Clock& clock,
                                                             const providers::EnvLookup& env,
                                                             std::unique_ptr<ToolInvoker> tools,
                                                             std::unique_ptr<SessionStore> sessions) {
  providers::ProvidersConfig config = providers::default_providers_config();
  PricingTable pricing;
  if (!config_path.empty()) {
    auto doc = load_yaml_file(config_path);
    if (!doc.ok()) return std::move(doc).error();
    auto read = providers::read_providers_config(*doc);
    auto prices = read_pricing_config(*doc);
    if (!read.ok() || !prices.ok()) {
      std::string message = read.ok() ? "" : read.error().message;
      if (!prices.ok()) message += (message.empty() ? "" : "\n") + prices.error().message;
      return make_error(ErrorCode::kInvalidInput, std::move(message));
    }
    config = std::move(*read);
    pricing = std::move(*prices);
  }
  LlmLimits limits;
  limits.default_max_turns = config.default_max_turns;
  limits.max_prompt_file_bytes = static_cast<size_t>(config.max_prompt_file_bytes);
  limits.default_llm_provider = config.default_provider;

  auto http = std::make_unique<providers::CurlHttpClient>();
  auto set = std::make_unique<providers::ProviderSet>(config, env, *http, clock);
  for (const std::string& line : set->summary()) spdlog::info("provider {}", line);
  if (!tools) tools = std::make_unique<UnwiredToolInvoker>();
  if (!sessions) sessions = std::make_unique<UnwiredSessionStore>();
  return std::shared_ptr<const LlmServices>(std::make_shared<LlmServices>(
      std::move(http), std::move(set), std::move(tools), std::move(sessions), std::move(pricing),
      limits));
}

void add_llm_executors(ExecutorTable& table, const std::shared_ptr<const LlmServices>& services) {
  table.add("claude", std::make_unique<ClaudeExecutor>(services));
  table.add("gemini", std::make_unique<GeminiExecutor>(services));
  table.add("llm", std::make_unique<LlmExecutor>(services));
  table.add("claude_session", std::make_unique<ClaudeSessionExecutor>(services));
  table.add("claude_extract", std::make_unique<ClaudeExtractExecutor>(services));
  table.add("claude_robust", std::make_unique<ClaudeRobustExecutor>(services));
  table.add("claude_smart", std::make_unique<ClaudeSmartExecutor>(services));
  table.add("gemini_instructor", std::make_unique<GeminiInstructorExecutor>(services));
}

}  // namespace pl::worker::llm
