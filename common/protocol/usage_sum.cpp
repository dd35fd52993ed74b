#include "common/protocol/usage_sum.h"

namespace pl::protocol {

Value sum_usage(const Value& a, const Value& b) {
  if (!a.is_object()) return b;
  if (!b.is_object()) return a;
  Value sum = a;
  for (const char* key : {"input_tokens", "output_tokens", "cache_write_tokens",
                          "cache_write_1h_tokens", "cache_read_tokens"}) {
    if (a.find(key) || b.find(key)) sum[key] = a.get_int(key) + b.get_int(key);
  }
  const Value* ca = a.find("cost_usd");
  const Value* cb = b.find("cost_usd");
  sum["cost_usd"] = ca && cb && ca->is_number() && cb->is_number()
                        ? Value(ca->as_double() + cb->as_double())
                        : Value();
  if (a.get_bool("estimated") || b.get_bool("estimated")) sum["estimated"] = true;
  return sum;
}

}  // namespace pl::protocol
