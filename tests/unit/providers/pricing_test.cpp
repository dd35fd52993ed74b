#include "worker/llm/pricing.h"

#include <gtest/gtest.h>

namespace pl::worker::llm {
namespace {

providers::Usage usage(int64_t in, int64_t out, bool estimated = false) {
  providers::Usage u;
  u.input_tokens = in;
  u.output_tokens = out;
  u.estimated = estimated;
  return u;
}

TEST(Pricing, CostIsTokensTimesThePricePerMillion) {
  PricingTable t;
  t.set("claude-sonnet-4-5", Price{3.0, 15.0});
  EXPECT_DOUBLE_EQ(*t.cost_usd("claude-sonnet-4-5", usage(1'000'000, 100'000)), 4.5);
}

TEST(Pricing, PromptCacheWritesAndReadsHaveTheirOwnRates) {
  PricingTable t;
  t.set("claude-sonnet-4-5", Price{3.0, 15.0});
  providers::Usage u = usage(1'600'000, 0);  // of which:
  u.cache_write_tokens = 400'000;            // 1.25 times the input price
  u.cache_read_tokens = 1'000'000;           // 0.1 times
  EXPECT_DOUBLE_EQ(*t.cost_usd("claude-sonnet-4-5", u), 0.6 + 1.5 + 0.3);
  const Value v = usage_value(u, "claude-sonnet-4-5", false, t);
  EXPECT_EQ(v.get_int("input_tokens"), 1'600'000);
  EXPECT_EQ(v.get_int("cache_write_tokens"), 400'000);
  EXPECT_EQ(v.get_int("cache_read_tokens"), 1'000'000);
  EXPECT_FALSE(usage_value(usage(10, 5), "m", false, t).find("cache_read_tokens"));
}

TEST(Pricing, AVersionOfAPricedModelHasItsPrice) {
  PricingTable t;
  t.set("claude", Price{1, 1});
  t.set("claude-sonnet-4-5", Price{3, 15});
  t.set("gpt-4o", Price{2.5, 10});
  t.set("gemini-2.5-flash", Price{0.3, 2.5});
  for (const char* model :
       {"claude-sonnet-4-5-20250929", "claude-sonnet-4-5@20250929", "claude-sonnet-4-5-latest"}) {
    ASSERT_TRUE(t.find(model)) << model;
    EXPECT_DOUBLE_EQ(t.find(model)->input_per_million, 3) << model;
  }
  EXPECT_DOUBLE_EQ(t.find("gpt-4o-2024-08-06")->input_per_million, 2.5);
  EXPECT_DOUBLE_EQ(t.find("gemini-2.5-flash-001")->input_per_million, 0.3);
}

TEST(Pricing, AnotherModelSharingAPricedNameAsPrefixIsUnpriced) {
  PricingTable t;
  t.set("claude", Price{1, 1});
  t.set("gpt-4.1", Price{2, 8});
  t.set("gemini-2.5-flash", Price{0.3, 2.5});
  for (const char* model : {"gpt-4.1-nano", "gpt-4.1-nano-2025-04-14", "gpt-4.10", "claude-opus",
                            "gemini-2.5-flash-lite", "gemini-2.5-flash-preview-05-20", "gpt-4o",
                            "gpt-4.1-20250", "gpt-4.1@"}) {
    EXPECT_FALSE(t.find(model)) << model;
    EXPECT_FALSE(t.cost_usd(model, usage(1000, 1000))) << model;
  }
}

TEST(Pricing, AnUnknownPriceIsNullNotZero) {
  const Value v = usage_value(usage(10, 5), "unpriced-model", false, PricingTable());
  EXPECT_TRUE(v.find("cost_usd")->is_null());
  EXPECT_EQ(v.get_int("input_tokens"), 10);
  EXPECT_FALSE(v.find("estimated"));
}

TEST(Pricing, TheMockCostsNothing) {
  PricingTable t;
  t.set("claude-sonnet-4-5", Price{3, 15});
  EXPECT_EQ(usage_value(usage(1000, 1000), "claude-sonnet-4-5", true, t).find("cost_usd")->as_double(), 0.0);
}

TEST(Pricing, EstimatedUsageSaysSo) {
  EXPECT_TRUE(usage_value(usage(1, 1, true), "m", false, PricingTable()).get_bool("estimated"));
}

TEST(Pricing, ConfigIsReadWithLocatedErrors) {
  auto doc = parse_yaml(R"(
pricing:
  claude-sonnet-4-5: {input: 3.0, output: 15}
  gemini-2.5-flash: {input: 0.3}
  gpt-4o: 5
)", "p.yaml");
  ASSERT_TRUE(doc.ok());
  auto t = read_pricing_config(*doc);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("p.yaml:4:21: pricing.gemini-2.5-flash: needs `input` and `output`"),
            std::string::npos)
      << t.error().message;
  EXPECT_NE(t.error().message.find("p.yaml:5:11: pricing.gpt-4o must be a mapping"), std::string::npos)
      << t.error().message;
  auto good = parse_yaml("pricing:\n  m: {input: 1, output: 2}\n", "q.yaml");
  auto table = read_pricing_config(*good);
  ASSERT_TRUE(table.ok()) << table.error().message;
  EXPECT_DOUBLE_EQ(table->find("m")->output_per_million, 2);
}

}  // namespace
}  // namespace pl::worker::llm
