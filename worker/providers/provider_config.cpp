#include "worker/providers/provider_config.h"

#include <cstdlib>

#include "common/config/llm_provider.h"
#include "common/config/section_reader.h"
#include "common/text.h"

namespace pl::worker::providers {
namespace {

using std::chrono::milliseconds;

const std::vector<std::string_view> kProvidersKeys = {
    "force_mock", "default_provider", "default_max_turns", "max_prompt_file_bytes",
    "anthropic",  "gemini",           "openai"};
const std::vector<std::string_view> kEndpointKeys = {
    "api_key_env",        "base_url",          "base_url_env",         "version",
    "default_model",      "model_aliases",     "key_required",         "timeout_ms",
    "connect_timeout_ms", "stall_timeout_ms",  "max_retries",          "retry_base_delay_ms",
    "retry_max_delay_ms", "max_retry_after_ms", "max_response_bytes",  "default_max_tokens"};

EndpointConfig endpoint(std::string name, std::vector<std::string> key_env, std::string base_url,
                        std::string base_url_env, std::string model) {
  EndpointConfig e;
  e.name = std::move(name);
  e.api_key_env = std::move(key_env);
  e.base_url = std::move(base_url);
  e.base_url_env = std::move(base_url_env);
  e.default_model = std::move(model);
  return e;
}

int64_t ms_of(Duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

void read_endpoint(SectionReader& parent, EndpointConfig& e) {
  SectionReader r = parent.nested(e.name, kEndpointKeys);
  if (r.has("api_key_env")) {
    const Value v = r.value("api_key_env");
    if (v.is_string()) {
      e.api_key_env = {v.as_string()};
    } else if (v.is_array()) {
      e.api_key_env = r.string_list("api_key_env");
    } else {
      r.fail("api_key_env", "expected a variable name or a list of them");
    }
  }
  e.base_url = r.string("base_url", e.base_url);
  e.base_url_env = r.string("base_url_env", e.base_url_env);
  e.version = r.string("version", e.version);
  e.default_model = r.string("default_model", e.default_model);
  for (auto& [alias, model] : r.string_map("model_aliases")) e.model_aliases[alias] = model;
  e.key_required = r.boolean("key_required", e.key_required);
  HttpProviderSettings& h = e.http;
  const int64_t kDay = 24LL * 3600 * 1000;
  h.request_timeout = milliseconds(r.integer("timeout_ms", ms_of(h.request_timeout), 1, kDay));
  h.connect_timeout = milliseconds(r.integer("connect_timeout_ms", ms_of(h.connect_timeout), 1, kDay));
  h.stall_timeout = milliseconds(r.integer("stall_timeout_ms", ms_of(h.stall_timeout), 1, kDay));
  h.retry.max_retries = static_cast<int>(r.integer("max_retries", h.retry.max_retries, 0, 20));
  h.retry.base_delay = milliseconds(r.integer("retry_base_delay_ms", ms_of(h.retry.base_delay), 0, kDay));
  h.retry.max_delay = milliseconds(r.integer("retry_max_delay_ms", ms_of(h.retry.max_delay), 0, kDay));
  h.retry.max_retry_after =
      milliseconds(r.integer("max_retry_after_ms", ms_of(h.retry.max_retry_after), 0, kDay));
  h.max_response_bytes = static_cast<size_t>(r.integer(
      "max_response_bytes", static_cast<int64_t>(h.max_response_bytes), 1024, 1LL << 32));
  h.endpoint.default_max_tokens =
      r.integer("default_max_tokens", h.endpoint.default_max_tokens, 1, 10'000'000);
}

std::string strip_trailing_slashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

ProvidersConfig default_providers_config() {
  ProvidersConfig c;
  EndpointConfig anthropic = endpoint("anthropic", {"ANTHROPIC_API_KEY"}, "https://api.anthropic.com",
                                      "ANTHROPIC_BASE_URL", "claude-sonnet-4-5");
  anthropic.version = "2023-06-01";
  anthropic.model_aliases = {{"sonnet", "claude-sonnet-4-5"},
                             {"opus", "claude-opus-4-1"},
                             {"haiku", "claude-haiku-4-5"}};
  c.endpoints["anthropic"] = std::move(anthropic);
  c.endpoints["gemini"] = endpoint("gemini", {"GEMINI_API_KEY", "GOOGLE_API_KEY"},
                                   "https://generativelanguage.googleapis.com", "GEMINI_BASE_URL",
                                   "gemini-2.5-flash");
  c.endpoints["openai"] = endpoint("openai", {"OPENAI_API_KEY"}, "https://api.openai.com/v1",
                                   "OPENAI_BASE_URL", "gpt-4o-mini");
  return c;
}

Result<ProvidersConfig> read_providers_config(const YamlDocument& doc) {
  ProvidersConfig c = default_providers_config();
  SectionReader r(doc, "/providers", kProvidersKeys);
  c.force_mock = r.boolean("force_mock", false);
  c.default_provider = read_default_llm_provider(r);
  c.default_max_turns = r.integer("default_max_turns", c.default_max_turns, 1, 1000);
  c.max_prompt_file_bytes =
      r.integer("max_prompt_file_bytes", c.max_prompt_file_bytes, 1, 1LL << 30);
  for (auto& [name, e] : c.endpoints) read_endpoint(r, e);
  if (auto st = r.status(); !st.ok()) return std::move(st).error();
  return c;
}

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

ResolvedEndpoint resolve_endpoint(const EndpointConfig& config, bool force_mock, const EnvLookup& env) {
  ResolvedEndpoint out;
  out.config = config;
  std::string base_url = config.base_url;
  if (!config.base_url_env.empty()) {
    if (auto v = env(config.base_url_env); v && !v->empty()) base_url = *v;
  }
  out.config.http.endpoint.base_url = strip_trailing_slashes(base_url);
  out.config.http.endpoint.version = config.version;
  std::string key_source;
  for (const std::string& name : config.api_key_env) {
    if (auto v = env(name); v && !v->empty()) {
      out.config.http.endpoint.api_key = *v;
      key_source = name;
      break;
    }
  }
  auto mock_forced = env("PIPELINE_MOCK_PROVIDERS");
  const bool forced = force_mock || (mock_forced && (*mock_forced == "1" || *mock_forced == "true"));
  if (forced) {
    out.note = "mock (forced)";
  } else if (!key_source.empty()) {
    out.live = true;
    out.note = "live at " + out.config.http.endpoint.base_url + ", key from $" + key_source;
  } else if (!config.key_required) {
    out.live = true;
    out.note = "live at " + out.config.http.endpoint.base_url + ", no key";
  } else {
    std::vector<std::string> names;
    for (const auto& n : config.api_key_env) names.push_back("$" + n);
    out.note = "mock (no key in " + (names.empty() ? std::string("any variable") : join(names, " or ")) + ")";
  }
  return out;
}

}  // namespace pl::worker::providers
