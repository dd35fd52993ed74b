// Real executors, built the way the worker builds them (config file, environment, libcurl),
// calling pipeline-fake-llm.
#include <gtest/gtest.h>

#include <fstream>

#include "common/json.h"
#include "tests/fakes/llm_doubles.h"
#include "tests/integration/providers/fake_server_fixture.h"
#include "worker/executors/claude_executor.h"
#include "worker/executors/claude_extract_executor.h"
#include "worker/executors/gemini_instructor_executor.h"
#include "worker/executors/llm_executor.h"
#include "worker/llm/llm_setup.h"
#include "worker/providers/curl_http_client.h"

namespace pl::test {
namespace {

using worker::providers::EnvLookup;

Value json(const std::string& text) { return *parse_json(text); }

class ExecutorTest : public FakeServerTest {
 protected:
  // The environment a worker would see: keys, and base URLs pointing at the fake server.
  EnvLookup env(bool with_keys = true) const {
    std::map<std::string, std::string> vars = {
        {"ANTHROPIC_BASE_URL", server().base_url()},
        {"GEMINI_BASE_URL", server().base_url()},
        {"OPENAI_BASE_URL", server().openai_base_url()}};
    if (with_keys) {
      vars["ANTHROPIC_API_KEY"] = "sk-ant-test";
      vars["GEMINI_API_KEY"] = "g-test";
      vars["OPENAI_API_KEY"] = "sk-oa-test";
    }
    return [vars](const std::string& n) -> std::optional<std::string> {
      auto it = vars.find(n);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }

  std::string write_config(const std::string& text) {
    const auto path = dir_.path() / "config.yaml";
    std::ofstream(path) << text;
    return path.string();
  }

  std::shared_ptr<const worker::llm::LlmServices> services(bool with_keys = true) {
    const std::string config = write_config(R"(
providers:
  anthropic:
    retry_base_delay_ms: 10
    stall_timeout_ms: 500
pricing:
  claude-sonnet-4-5: {input: 3.0, output: 15.0}
  gemini-2.5-flash: {input: 0.30, output: 2.50, cache_read: 0.03}
  gpt-4o: {input: 2.50, output: 10.00, cache_read: 1.25}
  gpt-4.1: {input: 2.00, output: 8.00}
)");
    auto s = worker::llm::load_llm_services(config, clock_, env(with_keys));
    EXPECT_TRUE(s.ok()) << s.error().message;
    return *s;
  }

  Result<Value> run(worker::StepExecutor& e, const std::string& type, const Value& input) {
    protocol::WorkItem item;
    item.item_id = "i";
    item.step_name = "s";
    item.step_type = type;
    item.input = input;
    Value context;
    context["workspace_dir"] = dir_.path().string();
    context["pipeline_dir"] = dir_.path().string();
    item.context = std::make_shared<const Value>(std::move(context));
    return e.execute(item, worker::ExecutionContext{cancel_, SteadyClock::now() + std::chrono::seconds(20)});
  }

  TempDir dir_;
  RealClock clock_;
  worker::CancelToken cancel_;
};

TEST_F(ExecutorTest, AClaudeStepCallsTheAnthropicApiAndReportsUsageAndCost) {
  worker::ClaudeExecutor e(services());
  auto r = run(e, "claude", json(R"({"prompt": "hello [[fake:ok]]", "claude_options": {"model": "sonnet"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("provider"), "anthropic");
  EXPECT_EQ(r->get_string("text"), "fake anthropic answer from claude-sonnet-4-5");
  EXPECT_FALSE(r->find("mock"));
  const Value* usage = r->find("usage");
  EXPECT_EQ(usage->get_int("input_tokens"), 11);
  EXPECT_EQ(usage->get_int("output_tokens"), 7);
  EXPECT_DOUBLE_EQ(usage->find("cost_usd")->as_double(), (11 * 3.0 + 7 * 15.0) / 1e6);
}

TEST_F(ExecutorTest, PromptCacheTokensArePricedAtTheirOwnRates) {
  // Anthropic bills cache writes at 1.25 times the input price and cache reads at 0.1 times.
  worker::ClaudeExecutor e(services());
  auto r = run(e, "claude", json(R"({"prompt": "[[fake:cached:1000:2000]]", "claude_options":
      {"model": "sonnet"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Value* usage = r->find("usage");
  EXPECT_EQ(usage->get_int("input_tokens"), 3011);  // all the prompt, as the model read it
  EXPECT_EQ(usage->get_int("cache_write_tokens"), 1000);
  EXPECT_EQ(usage->get_int("cache_read_tokens"), 2000);
  EXPECT_EQ(usage->get_int("output_tokens"), 7);
  EXPECT_DOUBLE_EQ(usage->find("cost_usd")->as_double(),
                   (11 * 3.0 + 1000 * 3.0 * 1.25 + 2000 * 3.0 * 0.1 + 7 * 15.0) / 1e6);
}

TEST_F(ExecutorTest, OneHourCacheWritesCostTwiceTheInputPrice) {
  worker::ClaudeExecutor e(services());
  auto r = run(e, "claude", json(R"({"prompt": "[[fake:cached:1000:0:600]]", "claude_options":
      {"model": "sonnet"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Value* usage = r->find("usage");
  EXPECT_EQ(usage->get_int("cache_write_tokens"), 1000);
  EXPECT_EQ(usage->get_int("cache_write_1h_tokens"), 600);
  EXPECT_DOUBLE_EQ(usage->find("cost_usd")->as_double(),
                   (11 * 3.0 + 400 * 3.0 * 1.25 + 600 * 3.0 * 2.0 + 7 * 15.0) / 1e6);
}

TEST_F(ExecutorTest, OpenAiAndGeminiCacheReadsCostTheirCacheReadPrice) {
  worker::LlmExecutor e(services());
  auto openai = run(e, "llm", json(R"({"provider": "openai", "model": "gpt-4o",
      "prompt": "[[fake:cached:0:1792]]"})"));
  ASSERT_TRUE(openai.ok()) << openai.error().message;
  EXPECT_EQ(openai->find("usage")->get_int("input_tokens"), 1803);
  EXPECT_EQ(openai->find("usage")->get_int("cache_read_tokens"), 1792);
  EXPECT_DOUBLE_EQ(openai->find("usage")->find("cost_usd")->as_double(),
                   (11 * 2.5 + 1792 * 1.25 + 7 * 10.0) / 1e6);
  auto gemini = run(e, "llm", json(R"({"provider": "gemini", "model": "gemini-2.5-flash",
      "prompt": "[[fake:cached:0:1800]]"})"));
  ASSERT_TRUE(gemini.ok()) << gemini.error().message;
  EXPECT_DOUBLE_EQ(gemini->find("usage")->find("cost_usd")->as_double(),
                   (11 * 0.3 + 1800 * 0.03 + 7 * 2.5) / 1e6);
  // No cache_read price: the full input price, an overstatement rather than a guess.
  auto unpriced_reads = run(e, "llm", json(R"({"provider": "openai", "model": "gpt-4.1",
      "prompt": "[[fake:cached:0:1000]]"})"));
  ASSERT_TRUE(unpriced_reads.ok()) << unpriced_reads.error().message;
  EXPECT_DOUBLE_EQ(unpriced_reads->find("usage")->find("cost_usd")->as_double(),
                   (1011 * 2.0 + 7 * 8.0) / 1e6);
}

TEST_F(ExecutorTest, AGeminiSchemaWithoutPropertiesReachesTheApi) {
  worker::GeminiInstructorExecutor e(services());
  auto r = run(e, "gemini_instructor", json(R"({"prompt": "[[fake:tool]] a map", "schema": {
      "type": "object", "additionalProperties": {"type": "string"}}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->find("data")->get_string("query"), "fake");
  const auto sent = server().requests_containing("a map");
  ASSERT_EQ(sent.size(), 1u);
  const Value& decl = sent[0]
                          .find("body")
                          ->find("tools")
                          ->as_array()[0]
                          .find("functionDeclarations")
                          ->as_array()[0];
  ASSERT_TRUE(decl.find("parametersJsonSchema"));
  EXPECT_EQ(to_json(*decl.find("parametersJsonSchema")),
            R"({"additionalProperties":{"type":"string"},"type":"object"})");
}

TEST_F(ExecutorTest, AClaudeExtractAnswerCutAtTheLimitSaysToRaiseMaxTokens) {
  worker::ClaudeExtractExecutor e(services());
  auto r = run(e, "claude_extract", json(R"({"prompt": "[[fake:cut]]", "claude_options":
      {"max_tokens": 50}, "extraction_config": {"format": "json"}})"));
  // A failure that keeps the paid call's usage.
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(worker::is_failed_result(*r));
  EXPECT_EQ(r->get_string("error_code"), "step_failed");
  EXPECT_GT(r->find("usage")->get_int("output_tokens"), 0);
  EXPECT_NE(r->get_string("error").find("claude_extract: the answer holds no JSON value; the "
                                        "answer was cut at the output-token limit (max_tokens 50)"),
            std::string::npos)
      << r->get_string("error");
}

TEST_F(ExecutorTest, WithoutKeysTheSameStepIsAnsweredByTheMock) {
  worker::ClaudeExecutor e(services(false));
  auto r = run(e, "claude", json(R"({"prompt": "hello"})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->get_bool("mock"));
  EXPECT_EQ(r->get_string("stands_in_for"), "anthropic");
}

TEST_F(ExecutorTest, ARateLimitThatClearsIsInvisibleToTheStep) {
  worker::ClaudeExecutor e(services());
  auto r = run(e, "claude", json(R"({"prompt": "[[fake:fail:1:429:exec-rl]]"})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST_F(ExecutorTest, AFailingProviderFailsTheStepWithACodeTheBrokerRetriesBy) {
  worker::ClaudeExecutor e(services());
  auto r = run(e, "claude", json(R"({"prompt": "[[fake:status:529]]"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kProviderError);
  EXPECT_EQ(r.error().message, "anthropic: 529 overloaded_error: fake 529 (after 2 retries)");
}

TEST_F(ExecutorTest, AnLlmStepReachesAnOpenAiCompatibleServer) {
  worker::LlmExecutor e(services());
  auto r = run(e, "llm", json(R"({"provider": "openai", "model": "qwen2.5", "prompt": "hi"})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "fake openai answer from qwen2.5");
  EXPECT_TRUE(r->find("usage")->find("cost_usd")->is_null());  // no price configured
}

TEST_F(ExecutorTest, AClaudeExtractStepParsesJsonFromTheApi) {
  worker::ClaudeExtractExecutor e(services());
  auto r = run(e, "claude_extract", json(R"({"prompt": "[[fake:json]]", "extraction_config": {"format": "json"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->find("data")->get_int("answer"), 42);
}

TEST_F(ExecutorTest, AGeminiInstructorStepGetsStructuredOutputThroughFunctionCalling) {
  worker::GeminiInstructorExecutor e(services());
  auto r = run(e, "gemini_instructor", json(R"({"prompt": "[[fake:tool]]", "schema": {"type": "object",
      "required": ["query"], "properties": {"query": {"type": "string"}}}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->find("data")->get_string("query"), "fake");
  EXPECT_EQ(r->get_string("provider"), "gemini");
  const auto sent = server().requests_containing("structured_output");
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().find("body")->find("toolConfig")->find("functionCallingConfig")->get_string("mode"), "ANY");
}

TEST_F(ExecutorTest, AGeminiSchemaWithJsonSchemaOnlyKeywordsIsAccepted) {
  // `parameters` would be refused for additionalProperties: it goes as parametersJsonSchema.
  worker::GeminiInstructorExecutor e(services());
  auto r = run(e, "gemini_instructor", json(R"({"prompt": "[[fake:tool]] strict", "schema": {
      "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
      "additionalProperties": false, "required": ["query"],
      "properties": {"query": {"type": "string"}}}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->find("data")->get_string("query"), "fake");
  const auto sent = server().requests_containing("strict");
  ASSERT_FALSE(sent.empty());
  const Value& decl = sent.back()
                          .find("body")
                          ->find("tools")
                          ->as_array()[0]
                          .find("functionDeclarations")
                          ->as_array()[0];
  ASSERT_TRUE(decl.find("parametersJsonSchema"));
  EXPECT_FALSE(decl.find("parametersJsonSchema")->get_bool("additionalProperties", true));
}

TEST_F(ExecutorTest, ToolsRunBetweenRealApiCalls) {
  worker::providers::CurlHttpClient* http = nullptr;
  auto owned_http = std::make_unique<worker::providers::CurlHttpClient>();
  http = owned_http.get();
  auto set = std::make_unique<worker::providers::ProviderSet>(worker::providers::default_providers_config(), env(),
                                                              *http, clock_);
  auto tools = std::make_unique<fakes::FakeToolInvoker>();
  tools->add("lookup", [](const Value&) -> Result<Value> { return Value("42 results"); });
  auto services = std::make_shared<worker::llm::LlmServices>(
      std::move(owned_http), std::move(set), std::move(tools), std::make_unique<fakes::MemorySessionStore>(),
      worker::llm::PricingTable(), worker::llm::LlmLimits{});
  worker::ClaudeExecutor e(services);
  auto r = run(e, "claude", json(R"({"prompt": "[[fake:tool]] go", "claude_options": {"allowed_tools": ["lookup"]}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "tool said: 42 results");
  EXPECT_EQ(r->get_int("turns"), 2);
  EXPECT_EQ(r->find("usage")->get_int("input_tokens"), 22);
}

TEST_F(ExecutorTest, ABadProvidersSectionIsReportedWithItsLocation) {
  const std::string config = write_config("providers:\n  anthropic:\n    base_ur: x\n");
  auto s = worker::llm::load_llm_services(config, clock_, env());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("config.yaml:3:5: unknown key \"providers.anthropic.base_ur\" (did you mean "
                                   "\"base_url\"?)"),
            std::string::npos)
      << s.error().message;
}

}  // namespace
}  // namespace pl::test
