#include "worker/llm/pricing.h"

#include <cmath>

#include "common/config/section_reader.h"

namespace pl::worker::llm {

namespace {

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

// Whether `suffix` (what follows a configured name) only says which version of that model
// answered. Anything else names another model: "gpt-4.1" must not price "gpt-4.1-nano".
bool is_version_suffix(std::string_view suffix) {
  if (suffix.size() > 1 && suffix[0] == '@') return true;  // Vertex AI: claude-sonnet-4-5@20250929
  if (suffix.empty() || suffix[0] != '-') return false;
  suffix.remove_prefix(1);
  if (suffix == "latest") return true;
  if (suffix.size() == 8 && all_digits(suffix)) return true;             // 20250929
  if (suffix.size() == 3 && all_digits(suffix)) return true;             // Gemini's stable -001
  return suffix.size() == 10 && suffix[4] == '-' && suffix[7] == '-' &&  // 2024-08-06
         all_digits(suffix.substr(0, 4)) && all_digits(suffix.substr(5, 2)) &&
         all_digits(suffix.substr(8, 2));
}

double cache_read_price(const Price& price, std::string_view provider) {
  if (price.cache_read_per_million) return *price.cache_read_per_million;
  return provider == "anthropic" ? price.input_per_million * kCacheReadPriceFactor
                                 : price.input_per_million;
}

}  // namespace

void PricingTable::set(std::string model, Price price) { prices_[std::move(model)] = price; }

std::optional<Price> PricingTable::find(std::string_view model) const {
  if (auto it = prices_.find(model); it != prices_.end()) return it->second;
  // At most one configured name can be followed by a version suffix: the one that ends where
  // the suffix starts.
  for (const auto& [name, price] : prices_) {
    if (model.size() > name.size() && model.substr(0, name.size()) == name &&
        is_version_suffix(model.substr(name.size()))) {
      return price;
    }
  }
  return std::nullopt;
}

std::optional<double> PricingTable::cost_usd(std::string_view model, const providers::Usage& usage,
                                             std::string_view provider) const {
  auto price = find(model);
  if (!price) return std::nullopt;
  const auto tokens = [](int64_t n) { return static_cast<double>(n); };
  const int64_t uncached = usage.input_tokens - usage.cache_write_tokens - usage.cache_read_tokens;
  const int64_t written_5m = usage.cache_write_tokens - usage.cache_write_1h_tokens;
  const double input_units = tokens(uncached) + tokens(written_5m) * kCacheWritePriceFactor +
                             tokens(usage.cache_write_1h_tokens) * kCacheWrite1hPriceFactor;
  return (input_units * price->input_per_million +
          tokens(usage.cache_read_tokens) * cache_read_price(*price, provider) +
          tokens(usage.output_tokens) * price->output_per_million) /
         1e6;
}

Result<PricingTable> read_pricing_config(const YamlDocument& doc) {
  PricingTable table;
  const Value* section = doc.root().find("pricing");
  if (!section || section->is_null()) return table;
  std::vector<std::string_view> models;
  if (section->is_object()) {
    for (const auto& [name, v] : section->as_object()) models.push_back(name);
  }
  SectionReader r(doc, "/pricing", models);  // reports a non-mapping section
  for (std::string_view model : models) {
    SectionReader m = r.nested(model, {"input", "output", "cache_read"});
    if (!section->find(model)->is_object()) continue;  // reported by nested()
    if (!m.has("input") || !m.has("output")) {
      r.fail(model, "needs `input` and `output` (USD per million tokens)");
      continue;
    }
    Price price{m.number("input", 0, 0, 1e6), m.number("output", 0, 0, 1e6), std::nullopt};
    if (m.has("cache_read")) price.cache_read_per_million = m.number("cache_read", 0, 0, 1e6);
    table.set(std::string(model), price);
  }
  if (auto st = r.status(); !st.ok()) return std::move(st).error();
  return table;
}

Value usage_value(const providers::Usage& usage, std::string_view model, std::string_view provider,
                  bool mock, const PricingTable& pricing) {
  Value v;
  v["input_tokens"] = usage.input_tokens;
  v["output_tokens"] = usage.output_tokens;
  if (usage.cache_write_tokens > 0) v["cache_write_tokens"] = usage.cache_write_tokens;
  if (usage.cache_write_1h_tokens > 0) v["cache_write_1h_tokens"] = usage.cache_write_1h_tokens;
  if (usage.cache_read_tokens > 0) v["cache_read_tokens"] = usage.cache_read_tokens;
  std::optional<double> cost =
      mock ? std::optional<double>(0.0) : pricing.cost_usd(model, usage, provider);
  // Round to a millionth of a cent so sums print cleanly.
  v["cost_usd"] = cost ? Value(std::round(*cost * 1e8) / 1e8) : Value();
  if (usage.estimated) v["estimated"] = true;
  return v;
}

}  // namespace pl::worker::llm
