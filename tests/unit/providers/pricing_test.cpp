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
  t.set("claude-sonnet-4-5", Price{3.0, 15.0, std::nullopt});
  EXPECT_DOUBLE_EQ(*t.cost_usd("claude-sonnet-4-5", usage(1'000'000, 100'000), "anthropic"), 4.5);
}

TEST(Pricing, PromptCacheWritesAndReadsHaveTheirOwnRates) {
  PricingTable t;
  t.set("claude-sonnet-4-5", Price{3.0, 15.0, std::nullopt});
  providers::Usage u = usage(1'600'000, 0);  // of which:
  u.cache_write_tokens = 400'000;            // 1.25 times the input price
  u.cache_read_tokens = 1'000'000;           // 0.1 times
  EXPECT_DOUBLE_EQ(*t.cost_usd("claude-sonnet-4-5", u, "anthropic"), 0.6 + 1.5 + 0.3);
  const Value v = usage_value(u, "claude-sonnet-4-5", "anthropic", false, t);
  EXPECT_EQ(v.get_int("input_tokens"), 1'600'000);
  EXPECT_EQ(v.get_int("cache_write_tokens"), 400'000);
  EXPECT_EQ(v.get_int("cache_read_tokens"), 1'000'000);
  EXPECT_FALSE(usage_value(usage(10, 5), "m", "anthropic", false, t).find("cache_read_tokens"));
}

TEST(Pricing, AVersionOfAPricedModelHasItsPrice) {
  PricingTable t;
  t.set("claude", Price{1, 1, std::nullopt});
  t.set("claude-sonnet-4-5", Price{3, 15, std::nullopt});
  t.set("gpt-4o", Price{2.5, 10, std::nullopt});
  t.set("gemini-2.5-flash", Price{0.3, 2.5, std::nullopt});
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
  t.set("claude", Price{1, 1, std::nullopt});
  t.set("gpt-4.1", Price{2, 8, std::nullopt});
  t.set("gemini-2.5-flash", Price{0.3, 2.5, std::nullopt});
  for (const char* model : {"gpt-4.1-nano", "gpt-4.1-nano-2025-04-14", "gpt-4.10", "claude-opus",
                            "gemini-2.5-flash-lite", "gemini-2.5-flash-preview-05-20", "gpt-4o",
                            "gpt-4.1-20250", "gpt-4.1@"}) {
    EXPECT_FALSE(t.find(model)) << model;
    EXPECT_FALSE(t.cost_usd(model, usage(1000, 1000), "anthropic")) << model;
  }
}

TEST(Pricing, AnUnknownPriceIsNullNotZero) {
  const Value v = usage_value(usage(10, 5), "unpriced-model", "anthropic", false, PricingTable());
  EXPECT_TRUE(v.find("cost_usd")->is_null());
  EXPECT_EQ(v.get_int("input_tokens"), 10);
  EXPECT_FALSE(v.find("estimated"));
}

TEST(Pricing, TheMockCostsNothing) {
  PricingTable t;
  t.set("claude-sonnet-4-5", Price{3, 15, std::nullopt});
  const Value v = usage_value(usage(1000, 1000), "claude-sonnet-4-5", "anthropic", true, t);
  EXPECT_EQ(v.find("cost_usd")->as_double(), 0.0);
}

TEST(Pricing, EstimatedUsageSaysSo) {
  const Value v = usage_value(usage(1, 1, true), "m", "anthropic", false, PricingTable());
  EXPECT_TRUE(v.get_bool("estimated"));
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

TEST(Pricing, OneHourCacheWritesCostTwiceTheInputPrice) {
  PricingTable t;
  t.set("claude-sonnet-4-5", Price{3.0, 15.0, std::nullopt});
  providers::Usage u = usage(1'000'000, 0);  // of which:
  u.cache_write_tokens = 1'000'000;          // written to the cache,
  u.cache_write_1h_tokens = 600'000;         // 600k to the 1-hour one (2x), 400k to 5 minutes
  EXPECT_DOUBLE_EQ(*t.cost_usd("claude-sonnet-4-5", u, "anthropic"), 0.4 * 3.75 + 0.6 * 6.0);
  const Value v = usage_value(u, "claude-sonnet-4-5", "anthropic", false, t);
  EXPECT_EQ(v.get_int("cache_write_1h_tokens"), 600'000);
}

// Without a configured cache_read price: Anthropic's published 0.1x rule, and for the others,
// whose discounts differ by model, the full input price rather than a guessed discount.
TEST(Pricing, CacheReadsCostTheConfiguredPriceElseTheProvidersDefault) {
  PricingTable t;
  t.set("claude-sonnet-4-5", Price{3.0, 15.0, std::nullopt});
  t.set("gpt-4o", Price{2.5, 10.0, 1.25});
  t.set("gpt-x", Price{2.5, 10.0, std::nullopt});
  t.set("gemini-2.5-flash", Price{0.3, 2.5, 0.03});
  providers::Usage u = usage(2000, 100);
  u.cache_read_tokens = 1792;
  EXPECT_DOUBLE_EQ(*t.cost_usd("claude-sonnet-4-5", u, "anthropic"),
                   (208 * 3.0 + 1792 * 0.3 + 100 * 15.0) / 1e6);
  EXPECT_DOUBLE_EQ(*t.cost_usd("gpt-4o-2024-08-06", u, "openai"),
                   (208 * 2.5 + 1792 * 1.25 + 100 * 10.0) / 1e6);
  EXPECT_DOUBLE_EQ(*t.cost_usd("gpt-x", u, "openai"), (2000 * 2.5 + 100 * 10.0) / 1e6);
  EXPECT_DOUBLE_EQ(*t.cost_usd("gemini-2.5-flash", u, "gemini"),
                   (208 * 0.3 + 1792 * 0.03 + 100 * 2.5) / 1e6);
  // A configured price wins for Anthropic too.
  t.set("claude-haiku-4-5", Price{1.0, 5.0, 0.5});
  EXPECT_DOUBLE_EQ(*t.cost_usd("claude-haiku-4-5", u, "anthropic"),
                   (208 * 1.0 + 1792 * 0.5 + 100 * 5.0) / 1e6);
}

TEST(Pricing, ACacheReadPriceIsReadFromTheConfigWithLocatedErrors) {
  auto good =
      parse_yaml("pricing:\n  gpt-4o: {input: 2.5, output: 10, cache_read: 1.25}\n", "c.yaml");
  ASSERT_TRUE(good.ok());
  auto table = read_pricing_config(*good);
  ASSERT_TRUE(table.ok()) << table.error().message;
  EXPECT_DOUBLE_EQ(*table->find("gpt-4o")->cache_read_per_million, 1.25);
  auto plain = parse_yaml("pricing:\n  m: {input: 1, output: 2}\n", "c.yaml");
  EXPECT_FALSE(read_pricing_config(*plain)->find("m")->cache_read_per_million);

  auto bad = parse_yaml(R"(
pricing:
  gpt-4o: {input: 2.5, output: 10, cache_read: cheap}
  gpt-4.1: {input: 2, output: 8, cache_reads: 0.5}
)",
                        "c.yaml");
  ASSERT_TRUE(bad.ok());
  auto t = read_pricing_config(*bad);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find(
                "c.yaml:3:48: pricing.gpt-4o.cache_read: expected a number, got a string"),
            std::string::npos)
      << t.error().message;
  EXPECT_NE(t.error().message.find("c.yaml:4:34: unknown key \"pricing.gpt-4.1.cache_reads\" "
                                   "(did you mean \"cache_read\"?)"),
            std::string::npos)
      << t.error().message;
}

}  // namespace
}  // namespace pl::worker::llm
