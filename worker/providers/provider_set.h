// The providers a worker can call, by name, and which model each call asks for.
//
// Names: "anthropic", "gemini", "openai" (live HttpProviders, or the mock standing in when the
// provider has no key) and "mock" (always the mock). A step's model is resolved through the
// provider's aliases ("sonnet" -> "claude-sonnet-4-5"); an empty model means the provider's
// default_model. Read-only after construction, so shared by every slot thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "worker/providers/http_client.h"
#include "worker/providers/mock_provider.h"
#include "worker/providers/provider.h"
#include "worker/providers/provider_config.h"

namespace pl::worker::providers {

class ProviderSet {
 public:
  struct Selection {
    Provider* provider = nullptr;  // never null in a successful Selection
    std::string model;             // what to ask for
    bool mock = false;             // the mock answers (standing in or by name)
  };

  // An empty set: only "mock". Tests add what they need.
  ProviderSet();
  // One provider per configured endpoint, live or mock as resolve_endpoint() decides. `http`
  // and `clock` are borrowed and must outlive the set.
  ProviderSet(const ProvidersConfig& config, const EnvLookup& env, HttpClient& http, const Clock& clock);

  // Registers `provider` under `name` (replacing any), with its default model and aliases.
  void add(std::string name, std::unique_ptr<Provider> provider, std::string default_model,
           std::map<std::string, std::string> aliases = {});
  // Makes `name` answered by the mock, with its default model and aliases.
  void add_mock_stand_in(std::string name, std::string default_model,
                         std::map<std::string, std::string> aliases = {});

  // The provider for `name` and the model to request. kInvalidInput naming the known providers
  // when `name` is unknown.
  Result<Selection> select(std::string_view name, std::string_view model) const;

  MockProvider& mock() const { return *mock_; }
  // One line per provider for the startup log ("anthropic: live at https://..., key from
  // $ANTHROPIC_API_KEY"); never a key.
  const std::vector<std::string>& summary() const { return summary_; }

 private:
  struct Entry {
    Provider* provider = nullptr;  // owned_ or mock_
    std::unique_ptr<Provider> owned;
    std::string default_model;
    std::map<std::string, std::string> aliases;
  };
  std::unique_ptr<MockProvider> mock_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<std::string> summary_;
};

}  // namespace pl::worker::providers
