// A harness for the LLM executors: scripted providers (or the mock standing in), fake tools and
// an in-memory session store, a work item in a temporary directory.
#pragma once

#include <memory>
#include <string>

#include "common/json.h"
#include "tests/fakes/llm_doubles.h"
#include "tests/support/harness.h"
#include "worker/executor.h"
#include "worker/llm/llm_services.h"
#include "worker/llm/unwired_registry.h"

namespace pl::worker::testing {

using llm::LlmServices;

inline Value json(const std::string& text) { return *parse_json(text); }

// Services whose "anthropic", "gemini" and "openai" are scripted (or the mock standing in).
struct Harness {
  test::TempDir dir;
  fakes::ScriptedProvider* anthropic = nullptr;
  fakes::ScriptedProvider* gemini = nullptr;
  fakes::ScriptedProvider* openai = nullptr;
  fakes::FakeToolInvoker* tools = nullptr;
  fakes::MemorySessionStore* sessions = nullptr;
  std::shared_ptr<const LlmServices> services;
  CancelToken cancel;

  enum class Providers { kScripted, kMock };
  enum class Registry { kFake, kUnwired };

  explicit Harness(Providers p = Providers::kScripted, Registry r = Registry::kFake) {
    auto set = std::make_unique<providers::ProviderSet>();
    if (p == Providers::kScripted) {
      auto a = std::make_unique<fakes::ScriptedProvider>("anthropic");
      auto g = std::make_unique<fakes::ScriptedProvider>("gemini");
      auto o = std::make_unique<fakes::ScriptedProvider>("openai");
      anthropic = a.get();
      gemini = g.get();
      openai = o.get();
      set->add("anthropic", std::move(a), "claude-default", {{"sonnet", "claude-sonnet-4-5"}});
      set->add("gemini", std::move(g), "gemini-default");
      set->add("openai", std::move(o), "gpt-default");
    } else {
      set->add_mock_stand_in("anthropic", "claude-sonnet-4-5");
      set->add_mock_stand_in("gemini", "gemini-2.5-flash");
      set->add_mock_stand_in("openai", "gpt-4o-mini");
    }
    std::unique_ptr<llm::ToolInvoker> invoker;
    std::unique_ptr<llm::SessionStore> store;
    if (r == Registry::kFake) {
      auto t = std::make_unique<fakes::FakeToolInvoker>();
      auto s = std::make_unique<fakes::MemorySessionStore>();
      tools = t.get();
      sessions = s.get();
      tools->add("search", [](const Value& a) -> Result<Value> { return Value("found " + a.get_string("query")); });
      invoker = std::move(t);
      store = std::move(s);
    } else {
      invoker = std::make_unique<llm::UnwiredToolInvoker>();
      store = std::make_unique<llm::UnwiredSessionStore>();
    }
    llm::PricingTable pricing;
    pricing.set("scripted-model", llm::Price{2.0, 10.0, std::nullopt});
    services = std::make_shared<LlmServices>(nullptr, std::move(set), std::move(invoker), std::move(store),
                                             std::move(pricing), llm::LlmLimits{});
  }

  Result<Value> run(StepExecutor& executor, const std::string& type, const Value& input,
                    uint32_t attempt = 1,
                    std::optional<protocol::RetryOutlook> retry = std::nullopt) {
    protocol::WorkItem item;
    item.item_id = "i1";
    item.attempt = attempt;
    item.retry = std::move(retry);
    item.run_id = "r1";
    item.step_name = "step";
    item.step_type = type;
    item.input = input;
    Value context;
    context["workspace_dir"] = (dir.path() / "ws").string();
    context["pipeline_dir"] = dir.path().string();
    context["output_dir"] = (dir.path() / "out").string();
    item.context = std::make_shared<const Value>(std::move(context));
    return executor.execute(item, ExecutionContext{cancel, SteadyClock::now() + std::chrono::seconds(30)});
  }
};

}  // namespace pl::worker::testing
