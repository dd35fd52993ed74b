// Everything the LLM executors share: the providers, the tools and sessions seams, the price
// table and the limits. Built once in main (see llm_setup.h), or from fakes in tests; read-only
// afterwards, so every slot thread uses it at once.
#pragma once

#include <memory>
#include <string>

#include "worker/llm/pricing.h"
#include "worker/llm/session_store.h"
#include "worker/llm/tool_invoker.h"
#include "worker/providers/http_client.h"
#include "worker/providers/provider_set.h"

namespace pl::worker::llm {

struct LlmLimits {
  int64_t default_max_turns = 10;           // model calls of a tool-use loop when unset
  size_t max_tool_result_bytes = 64 * 1024;  // a tool's output as the model sees it
  size_t max_prompt_file_bytes = 4 * 1024 * 1024;
  size_t max_prompt_bytes = 16 * 1024 * 1024;
  int64_t default_session_turns = 50;  // history a claude_session step sends when unset ...
  int64_t default_session_history_bytes = 512 * 1024;  // ... and at most this much of it
  std::string default_llm_provider = "openai";  // an llm step without `provider` (as the broker)
};

class LlmServices {
 public:
  // `http` may be null when every provider in `providers` does without it (tests).
  LlmServices(std::unique_ptr<providers::HttpClient> http,
              std::unique_ptr<providers::ProviderSet> providers, std::unique_ptr<ToolInvoker> tools,
              std::unique_ptr<SessionStore> sessions, PricingTable pricing, LlmLimits limits);

  providers::ProviderSet& providers() const { return *providers_; }
  ToolInvoker& tools() const { return *tools_; }
  SessionStore& sessions() const { return *sessions_; }
  const PricingTable& pricing() const { return pricing_; }
  const LlmLimits& limits() const { return limits_; }

 private:
  std::unique_ptr<providers::HttpClient> http_;  // declared first: providers borrow it
  std::unique_ptr<providers::ProviderSet> providers_;
  std::unique_ptr<ToolInvoker> tools_;
  std::unique_ptr<SessionStore> sessions_;
  PricingTable pricing_;
  LlmLimits limits_;
};

}  // namespace pl::worker::llm
