// Token prices and the `usage` block of a step result.
//
//   pricing:                       # USD per million tokens
//     claude-sonnet-4-5: {input: 3.00, output: 15.00}
//     gemini-2.5-flash:  {input: 0.30, output: 2.50}
//
// A model is priced by its exact name, else by a configured name followed only by a version
// suffix: "-20250929", "-2024-08-06", "-latest", "-001" or "@anything" (so "claude-sonnet-4-5"
// prices "claude-sonnet-4-5-20250929" and "gpt-4o" prices "gpt-4o-2024-08-06"). Any other
// suffix names another model ("gpt-4.1" does not price "gpt-4.1-nano"). A model with no price
// has cost_usd null, never 0: an unknown cost is not a free one. The mock's answers cost 0.
//
// Prompt tokens written to Anthropic's cache cost kCacheWritePriceFactor times the input price
// (its 5-minute cache), those read from it kCacheReadPriceFactor times; the rest of the input
// the input price.
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
inline constexpr double kCacheReadPriceFactor = 0.1;

struct Price {
  double input_per_million = 0;
  double output_per_million = 0;
};

class PricingTable {
 public:
  void set(std::string model, Price price);
  std::optional<Price> find(std::string_view model) const;
  // nullopt when the model has no price.
  std::optional<double> cost_usd(std::string_view model, const providers::Usage& usage) const;

 private:
  std::map<std::string, Price, std::less<>> prices_;
};

// Reads `pricing:` from a parsed config file (absent: an empty table). Errors name
// file:line:column.
Result<PricingTable> read_pricing_config(const YamlDocument& doc);

// {input_tokens, output_tokens, cache_write_tokens and cache_read_tokens (only when not 0: parts
// of input_tokens), cost_usd (null when unknown), estimated: true (only when the provider
// reported no usage)}. `mock`: cost 0.
Value usage_value(const providers::Usage& usage, std::string_view model, bool mock,
                  const PricingTable& pricing);

}  // namespace pl::worker::llm
