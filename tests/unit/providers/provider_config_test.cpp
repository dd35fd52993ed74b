#include "worker/providers/provider_config.h"

#include <gtest/gtest.h>

#include "tests/fakes/llm_doubles.h"
#include "worker/providers/provider_set.h"

namespace pl::worker::providers {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<ProvidersConfig> read(const std::string& yaml) {
  auto doc = parse_yaml(yaml, "test.yaml");
  if (!doc.ok()) return std::move(doc).error();
  return read_providers_config(*doc);
}

TEST(ProvidersConfig, DefaultsCoverTheThreeApis) {
  ProvidersConfig c = default_providers_config();
  ASSERT_EQ(c.endpoints.size(), 3u);
  EXPECT_EQ(c.endpoints["anthropic"].base_url, "https://api.anthropic.com");
  EXPECT_EQ(c.endpoints["anthropic"].version, "2023-06-01");
  EXPECT_EQ(c.endpoints["gemini"].api_key_env, (std::vector<std::string>{"GEMINI_API_KEY", "GOOGLE_API_KEY"}));
  EXPECT_EQ(c.endpoints["openai"].base_url, "https://api.openai.com/v1");
}

TEST(ProvidersConfig, ReadsEveryEndpointKey) {
  auto c = read(R"(
providers:
  force_mock: true
  default_max_turns: 4
  openai:
    api_key_env: LOCAL_KEY
    base_url: http://localhost:8000/v1/
    key_required: false
    default_model: qwen
    model_aliases: {small: qwen-0.5b}
    timeout_ms: 5000
    stall_timeout_ms: 700
    max_retries: 5
    max_response_bytes: 2048
  anthropic:
    api_key_env: [A_KEY, B_KEY]
    default_max_tokens: 1000
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->force_mock);
  EXPECT_EQ(c->default_max_turns, 4);
  const EndpointConfig& o = c->endpoints["openai"];
  EXPECT_EQ(o.api_key_env, std::vector<std::string>{"LOCAL_KEY"});
  EXPECT_FALSE(o.key_required);
  EXPECT_EQ(o.default_model, "qwen");
  EXPECT_EQ(o.model_aliases.at("small"), "qwen-0.5b");
  EXPECT_EQ(o.http.request_timeout, Duration(std::chrono::milliseconds(5000)));
  EXPECT_EQ(o.http.stall_timeout, Duration(std::chrono::milliseconds(700)));
  EXPECT_EQ(o.http.retry.max_retries, 5);
  EXPECT_EQ(o.http.max_response_bytes, 2048u);
  EXPECT_EQ(c->endpoints["anthropic"].api_key_env, (std::vector<std::string>{"A_KEY", "B_KEY"}));
  EXPECT_EQ(c->endpoints["anthropic"].http.endpoint.default_max_tokens, 1000);
}

TEST(ProvidersConfig, ProblemsNameFileLineAndColumnAllAtOnce) {
  auto c = read(R"(
providers:
  anthropic:
    timeout: 5
    max_retries: many
  mistral: {}
)");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("test.yaml:4:5: unknown key \"providers.anthropic.timeout\""), std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("test.yaml:5:18: providers.anthropic.max_retries: expected an integer"),
            std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("unknown key \"providers.mistral\""), std::string::npos);
}

TEST(ResolveEndpoint, AKeyInTheEnvironmentMakesItLive) {
  ResolvedEndpoint r = resolve_endpoint(default_providers_config().endpoints["anthropic"], false,
                                        env_of({{"ANTHROPIC_API_KEY", "sk-1"}}));
  EXPECT_TRUE(r.live);
  EXPECT_EQ(r.config.http.endpoint.api_key, "sk-1");
  EXPECT_EQ(r.note, "live at https://api.anthropic.com, key from $ANTHROPIC_API_KEY");
}

TEST(ResolveEndpoint, NoKeyMeansTheMockAndSaysWhereItLooked) {
  ResolvedEndpoint r = resolve_endpoint(default_providers_config().endpoints["gemini"], false, env_of({}));
  EXPECT_FALSE(r.live);
  EXPECT_EQ(r.note, "mock (no key in $GEMINI_API_KEY or $GOOGLE_API_KEY)");
}

TEST(ResolveEndpoint, TheSecondKeyVariableIsUsedWhenTheFirstIsUnset) {
  ResolvedEndpoint r = resolve_endpoint(default_providers_config().endpoints["gemini"], false,
                                        env_of({{"GOOGLE_API_KEY", "g-2"}}));
  EXPECT_TRUE(r.live);
  EXPECT_EQ(r.config.http.endpoint.api_key, "g-2");
}

TEST(ResolveEndpoint, TheBaseUrlVariableOverridesTheConfigAndLosesTrailingSlashes) {
  ResolvedEndpoint r = resolve_endpoint(default_providers_config().endpoints["openai"], false,
                                        env_of({{"OPENAI_API_KEY", "k"}, {"OPENAI_BASE_URL", "http://127.0.0.1:9/v1/"}}));
  EXPECT_EQ(r.config.http.endpoint.base_url, "http://127.0.0.1:9/v1");
}

TEST(ResolveEndpoint, AKeylessLocalServerIsLiveWhenNoKeyIsRequired) {
  EndpointConfig e = default_providers_config().endpoints["openai"];
  e.key_required = false;
  ResolvedEndpoint r = resolve_endpoint(e, false, env_of({}));
  EXPECT_TRUE(r.live);
  EXPECT_EQ(r.config.http.endpoint.api_key, "");
}

TEST(ResolveEndpoint, ForcingTheMockWinsOverKeys) {
  const EndpointConfig e = default_providers_config().endpoints["anthropic"];
  EXPECT_FALSE(resolve_endpoint(e, true, env_of({{"ANTHROPIC_API_KEY", "k"}})).live);
  EXPECT_FALSE(
      resolve_endpoint(e, false, env_of({{"ANTHROPIC_API_KEY", "k"}, {"PIPELINE_MOCK_PROVIDERS", "1"}})).live);
}

TEST(ProviderSet, ProvidersWithoutKeysAreAnsweredByTheMock) {
  fakes::FakeHttpClient http;
  RealClock clock;
  ProviderSet set(default_providers_config(), env_of({{"OPENAI_API_KEY", "k"}}), http, clock);
  auto anthropic = set.select("anthropic", "");
  ASSERT_TRUE(anthropic.ok());
  EXPECT_TRUE(anthropic->mock);
  EXPECT_EQ(anthropic->model, "claude-sonnet-4-5");
  auto openai = set.select("openai", "gpt-4o");
  ASSERT_TRUE(openai.ok());
  EXPECT_FALSE(openai->mock);
  EXPECT_EQ(openai->provider->name(), "openai");
  ASSERT_EQ(set.summary().size(), 3u);
  for (const std::string& line : set.summary()) EXPECT_EQ(line.find("=k"), std::string::npos);
}

TEST(ProviderSet, ModelAliasesResolve) {
  fakes::FakeHttpClient http;
  RealClock clock;
  ProviderSet set(default_providers_config(), env_of({}), http, clock);
  EXPECT_EQ(set.select("anthropic", "opus")->model, "claude-opus-4-1");
  EXPECT_EQ(set.select("anthropic", "claude-3-5-haiku-latest")->model, "claude-3-5-haiku-latest");
}

TEST(ProviderSet, AnUnknownProviderIsAnErrorListingTheKnownOnes) {
  ProviderSet set;
  set.add_mock_stand_in("anthropic", "claude-x");
  auto s = set.select("antropic", "");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(s.error().message,
            "unknown provider \"antropic\" (known: anthropic, mock) (did you mean \"anthropic\"?)");
}

TEST(ProviderSet, MockByNameIsAlwaysThere) {
  ProviderSet set;
  auto s = set.select("mock", "");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->mock);
  EXPECT_EQ(s->model, "mock");
}

}  // namespace
}  // namespace pl::worker::providers
