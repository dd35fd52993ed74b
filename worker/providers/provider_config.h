// The `providers:` section of the config file, and how it meets the environment.
//
//   providers:
//     force_mock: false          # true: every provider is the mock, keys or not
//     default_provider: openai   # for llm steps that name none (the broker reads it too)
//     default_max_turns: 10      # model calls of a tool-use loop when a step sets no max_turns
//     max_prompt_file_bytes: 4194304  # a prompt's file part
//     anthropic:
//       api_key_env: ANTHROPIC_API_KEY        # a name, or a list tried in order
//       base_url: https://api.anthropic.com   # overridden by $ANTHROPIC_BASE_URL when set
//       base_url_env: ANTHROPIC_BASE_URL
//       version: "2023-06-01"                 # anthropic-version header
//       default_model: claude-sonnet-4-5
//       model_aliases: {sonnet: claude-sonnet-4-5, ...}
//       key_required: true       # false: call the server without a key (local servers)
//       timeout_ms: 600000       # one HTTP exchange; the step's deadline also bounds it
//       connect_timeout_ms: 10000
//       stall_timeout_ms: 60000  # silence tolerated once a response has started
//       max_retries: 2           # 408/429/5xx re-sent within one attempt
//       retry_base_delay_ms: 500
//       retry_max_delay_ms: 20000
//       max_retry_after_ms: 60000  # a longer Retry-After is handed back to the broker
//       max_response_bytes: 33554432
//       default_max_tokens: 4096   # when a step sets none (Anthropic requires one)
//     gemini: {...}   # api_key_env [GEMINI_API_KEY, GOOGLE_API_KEY], GEMINI_BASE_URL
//     openai: {...}   # api_key_env OPENAI_API_KEY, OPENAI_BASE_URL, https://api.openai.com/v1
//
// A provider is live when it has a key (or key_required is false) and nothing forces the mock;
// otherwise the MockProvider answers for it. PIPELINE_MOCK_PROVIDERS=1 in the environment
// forces the mock like force_mock. Keys are only ever read from the environment.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config/llm_provider.h"
#include "common/config/yaml_document.h"
#include "common/result.h"
#include "worker/providers/http_provider.h"

namespace pl::worker::providers {

struct EndpointConfig {
  std::string name;  // "anthropic", "gemini", "openai"
  std::vector<std::string> api_key_env;
  std::string base_url;
  std::string base_url_env;
  std::string version;
  std::string default_model;
  std::map<std::string, std::string> model_aliases;
  bool key_required = true;
  HttpProviderSettings http;  // endpoint.base_url and endpoint.api_key are filled by resolve()
};

struct ProvidersConfig {
  bool force_mock = false;
  std::string default_provider = std::string(kDefaultLlmProvider);
  int64_t default_max_turns = 10;
  int64_t max_prompt_file_bytes = 4 * 1024 * 1024;
  std::map<std::string, EndpointConfig> endpoints;  // always holds the three API providers
};

// The built-in defaults (what an absent `providers:` section means).
ProvidersConfig default_providers_config();

// Reads `providers:` from a parsed config file over the defaults. Errors name
// file:line:column, all at once (unknown keys, wrong kinds, out-of-range numbers).
Result<ProvidersConfig> read_providers_config(const YamlDocument& doc);

// Environment lookup, as a seam: the real one reads the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_environment();

// One endpoint after meeting the environment.
struct ResolvedEndpoint {
  EndpointConfig config;  // config.http.endpoint has the base URL and key in effect
  bool live = false;
  std::string note;  // for the startup log, never the key: "key from ANTHROPIC_API_KEY", "no key in ..."
};

ResolvedEndpoint resolve_endpoint(const EndpointConfig& config, bool force_mock, const EnvLookup& env);

}  // namespace pl::worker::providers
