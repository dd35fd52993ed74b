#include "worker/providers/spent.h"

#include "common/value.h"

namespace pl::worker::providers {
namespace {

constexpr const char* kKey = "spent";

Value spent_value(const Spent& s) {
  Value v;
  v["input_tokens"] = s.usage.input_tokens;
  v["output_tokens"] = s.usage.output_tokens;
  v["cache_write_tokens"] = s.usage.cache_write_tokens;
  v["cache_read_tokens"] = s.usage.cache_read_tokens;
  v["cache_write_1h_tokens"] = s.usage.cache_write_1h_tokens;
  v["estimated"] = s.usage.estimated;
  v["model"] = s.model;
  v["provider"] = s.provider;
  return v;
}

}  // namespace

Error with_spent(Error e, const Spent& spent) {
  Spent total = spent;
  if (auto before = spent_of(e)) {
    // What `e` carries is its own call's, the later one: its model and provider stand.
    total = *before;
    total.usage += spent.usage;
  }
  Value fields = e.fields && e.fields->is_object() ? *e.fields : Value::object();
  fields[kKey] = spent_value(total);
  e.fields = std::make_shared<const Value>(std::move(fields));
  return e;
}

std::optional<Spent> spent_of(const Error& e) {
  const Value* v = e.fields ? e.fields->find(kKey) : nullptr;
  if (!v || !v->is_object()) return std::nullopt;
  Spent s;
  s.usage.input_tokens = v->get_int("input_tokens");
  s.usage.output_tokens = v->get_int("output_tokens");
  s.usage.cache_write_tokens = v->get_int("cache_write_tokens");
  s.usage.cache_read_tokens = v->get_int("cache_read_tokens");
  s.usage.cache_write_1h_tokens = v->get_int("cache_write_1h_tokens");
  s.usage.estimated = v->get_bool("estimated");
  s.model = v->get_string("model");
  s.provider = v->get_string("provider");
  return s;
}

}  // namespace pl::worker::providers
