#include "worker/llm/pricing.h"

#include <cmath>

#include "common/config/section_reader.h"

namespace pl::worker::llm {

void PricingTable::set(std::string model, Price price) { prices_[std::move(model)] = price; }

std::optional<Price> PricingTable::find(std::string_view model) const {
  if (auto it = prices_.find(model); it != prices_.end()) return it->second;
  const Price* best = nullptr;
  size_t best_length = 0;
  for (const auto& [name, price] : prices_) {
    if (name.size() > best_length && model.substr(0, name.size()) == name) {
      best = &price;
      best_length = name.size();
    }
  }
  if (!best) return std::nullopt;
  return *best;
}

std::optional<double> PricingTable::cost_usd(std::string_view model, const providers::Usage& usage) const {
  auto price = find(model);
  if (!price) return std::nullopt;
  return (static_cast<double>(usage.input_tokens) * price->input_per_million +
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
  std::optional<double> cost = mock ? std::optional<double>(0.0) : pricing.cost_usd(model, usage);
  // Round to a millionth of a cent so sums print cleanly.
  v["cost_usd"] = cost ? Value(std::round(*cost * 1e8) / 1e8) : Value();
  if (usage.estimated) v["estimated"] = true;
  return v;
}

}  // namespace pl::worker::llm
