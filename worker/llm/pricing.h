// Token prices and the `usage` block of a step result.
//
//   pricing:                       # USD per million tokens
//     claude-sonnet-4-5: {input: 3.00, output: 15.00}
//     gemini-2.5-flash:  {input: 0.30, output: 2.50, cache_read: 0.03}
//
// A model is priced by its exact name, else by a configured name followed only by a version
// suffix: "-20250929", "-2024-08-06", "-latest", "-001" or "@anything" (so "claude-sonnet-4-5"
// prices "claude-sonnet-4-5-20250929" and "gpt-4o" prices "gpt-4o-2024-08-06"). Any other
// suffix names another model ("gpt-4.1" does not price "gpt-4.1-nano"). A model with no price
// has cost_usd null, never 0: an unknown cost is not a free one. The mock's answers cost 0.
//
// Prompt tokens written to Anthropic's cache cost kCacheWritePriceFactor times the input price
// (its 5-minute cache; kCacheWrite1hPriceFactor for its 1-hour cache). Prompt tokens read from
// a provider's cache cost the model's `cache_read` price; without one, Anthropic's cost
// kCacheReadPriceFactor times the input price (its published rule), and OpenAI's and Gemini's,
// whose discounts differ by model, the full input price: a cost overstated, never understated
// by a guessed discount. The rest of the input costs the input price.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/config/yaml_document.h"
#include "common/result.h"
#include "common/value.h"
#include "worker/providers/provider.h"

namespace pl::worker::llm {

inline constexpr double kCacheWritePriceFactor = 1.25;
inline constexpr double kCacheWrite1hPriceFactor = 2.0;
inline constexpr double kCacheReadPriceFactor = 0.1;

struct Price {
  double input_per_million = 0;
  double output_per_million = 0;
  // Prompt tokens read from the cache; nullopt: the provider's default (see above).
  std::optional<double> cache_read_per_million;
};

class PricingTable {
 public:
  void set(std::string model, Price price);
  std::optional<Price> find(std::string_view model) const;
  // nullopt when the model has no price. `provider` ("anthropic", "gemini", "openai") picks
  // the default cache-read rate.
  std::optional<double> cost_usd(std::string_view model, const providers::Usage& usage,
                                 std::string_view provider) const;

 private:
  std::map<std::string, Price, std::less<>> prices_;
};

// Reads `pricing:` from a parsed config file (absent: an empty table): per model `input` and
// `output` (required) and `cache_read` (optional), USD per million tokens. Errors name
// file:line:column.
Result<PricingTable> read_pricing_config(const YamlDocument& doc);

// {input_tokens, output_tokens, cache_write_tokens, cache_write_1h_tokens and
// cache_read_tokens (only when not 0: parts of input_tokens), cost_usd (null when unknown),
// estimated: true (only when the provider reported no usage)}. `mock`: cost 0.
Value usage_value(const providers::Usage& usage, std::string_view model, std::string_view provider,
                  bool mock, const PricingTable& pricing);

}  // namespace pl::worker::llm
