#include "worker/llm/llm_services.h"

namespace pl::worker::llm {

LlmServices::LlmServices(std::unique_ptr<providers::HttpClient> http,
                         std::unique_ptr<providers::ProviderSet> providers,
                         std::unique_ptr<ToolInvoker> tools, std::unique_ptr<SessionStore> sessions,
                         PricingTable pricing, LlmLimits limits)
    : http_(std::move(http)),
      providers_(std::move(providers)),
      tools_(std::move(tools)),
      sessions_(std::move(sessions)),
      pricing_(std::move(pricing)),
      limits_(std::move(limits)) {}

}  // namespace pl::worker::llm
