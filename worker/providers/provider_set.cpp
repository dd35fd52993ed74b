#include "worker/providers/provider_set.h"

#include "common/text.h"
#include "worker/providers/anthropic_wire.h"
#include "worker/providers/gemini_wire.h"
#include "worker/providers/http_provider.h"
#include "worker/providers/openai_wire.h"

namespace pl::worker::providers {
namespace {

std::unique_ptr<WireFormat> wire_for(std::string_view name) {
  if (name == "anthropic") return std::make_unique<AnthropicWire>();
  if (name == "gemini") return std::make_unique<GeminiWire>();
  return std::make_unique<OpenAiWire>();
}

}  // namespace

ProviderSet::ProviderSet() : mock_(std::make_unique<MockProvider>()) {
  entries_["mock"] = Entry{mock_.get(), nullptr, "mock", {}};
}

ProviderSet::ProviderSet(const ProvidersConfig& config, const EnvLookup& env, HttpClient& http,
                         const Clock& clock)
    : ProviderSet() {
  for (const auto& [name, endpoint] : config.endpoints) {
    ResolvedEndpoint resolved = resolve_endpoint(endpoint, config.force_mock, env);
    summary_.push_back(name + ": " + resolved.note);
    if (resolved.live) {
      add(name,
          std::make_unique<HttpProvider>(wire_for(name), resolved.config.http, http,
                                         RetryEffects::real(clock)),
          endpoint.default_model, endpoint.model_aliases);
    } else {
      add_mock_stand_in(name, endpoint.default_model, endpoint.model_aliases);
    }
  }
}

void ProviderSet::add(std::string name, std::unique_ptr<Provider> provider, std::string default_model,
                      std::map<std::string, std::string> aliases) {
  Entry e;
  e.provider = provider.get();
  e.owned = std::move(provider);
  e.default_model = std::move(default_model);
  e.aliases = std::move(aliases);
  entries_[std::move(name)] = std::move(e);
}

void ProviderSet::add_mock_stand_in(std::string name, std::string default_model,
                                    std::map<std::string, std::string> aliases) {
  entries_[std::move(name)] = Entry{mock_.get(), nullptr, std::move(default_model), std::move(aliases)};
}

Result<ProviderSet::Selection> ProviderSet::select(std::string_view name, std::string_view model) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    std::vector<std::string> known;
    std::vector<std::string_view> known_views;
    for (const auto& [n, e] : entries_) {
      known.push_back(n);
      known_views.push_back(n);
    }
    return make_error(ErrorCode::kInvalidInput, "unknown provider \"" + std::string(name) +
                                                    "\" (known: " + join(known, ", ") + ")" +
                                                    did_you_mean(name, known_views));
  }
  const Entry& e = it->second;
  Selection s;
  s.provider = e.provider;
  s.mock = e.provider == mock_.get();
  s.model = model.empty() ? e.default_model : std::string(model);
  if (auto alias = e.aliases.find(s.model); alias != e.aliases.end()) s.model = alias->second;
  return s;
}

}  // namespace pl::worker::providers
