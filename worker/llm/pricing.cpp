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

std::optional<double> PricingTable::cost_usd(std::string_view model, const providers::Usage& usage) const {
  auto price = find(model);
  if (!price) return std::nullopt;
  const int64_t uncached = usage.input_tokens - usage.cache_write_tokens - usage.cache_read_tokens;
  const double input = static_cast<double>(uncached) +
                       static_cast<double>(usage.cache_write_tokens) * kCacheWritePriceFactor +
                       static_cast<double>(usage.cache_read_tokens) * kCacheReadPriceFactor;
  return (input * price->input_per_million +
          static_cast<double>(usage.output_tokens) * price->output_per_million) /
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
    SectionReader m = r.nested(model, {"input", "output"});
    if (!section->find(model)->is_object()) continue;  // reported by nested()
    if (!m.has("input") || !m.has("output")) {
      r.fail(model, "needs `input` and `output` (USD per million tokens)");
      continue;
    }
    table.set(std::string(model), Price{m.number("input", 0, 0, 1e6), m.number("output", 0, 0, 1e6)});
  }
  if (auto st = r.status(); !st.ok()) return std::move(st).error();
  return table;
}

Value usage_value(const providers::Usage& usage, std::string_view model, bool mock,
                  const PricingTable& pricing) {
  Value v;
  v["input_tokens"] = usage.input_tokens;
  v["output_tokens"] = usage.output_tokens;
  if (usage.cache_write_tokens > 0) v["cache_write_tokens"] = usage.cache_write_tokens;
  if (usage.cache_read_tokens > 0) v["cache_read_tokens"] = usage.cache_read_tokens;
  std::optional<double> cost = mock ? std::optional<double>(0.0) : pricing.cost_usd(model, usage);
  // Round to a millionth of a cent so sums print cleanly.
  v["cost_usd"] = cost ? Value(std::round(*cost * 1e8) / 1e8) : Value();
  if (usage.estimated) v["estimated"] = true;
  return v;
}

}  // namespace pl::worker::llm
