#include "worker/data/value_order.h"

#include <cmath>

#include "common/json.h"

namespace pl::worker::data {
namespace {

int rank(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return 0;
    case Value::Kind::kBool:
      return 1;
    case Value::Kind::kInt:
    case Value::Kind::kDouble:
      return 2;
    case Value::Kind::kString:
      return 3;
    case Value::Kind::kArray:
      return 4;
    case Value::Kind::kObject:
      return 5;
  }
  return 6;
}

int sign(int64_t x) { return x < 0 ? -1 : x > 0; }

// An integer against a decimal, exactly.
int compare_int_double(int64_t i, double d) {
  if (std::isnan(d)) return -1;  // NaN sorts after every number
  // 2^63 is exactly representable; every double at or beyond it is above any int64.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (d >= kTwo63) return -1;
  if (d < -kTwo63) return 1;
  const double whole = std::trunc(d);
  const auto w = static_cast<int64_t>(whole);  // exact: |whole| < 2^63
  if (i != w) return i < w ? -1 : 1;
  const double fraction = d - whole;
  return fraction > 0 ? -1 : fraction < 0 ? 1 : 0;
}

int compare_numbers(const Value& a, const Value& b) {
  if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
  if (a.is_int()) return compare_int_double(a.as_int(), b.as_double());
  if (b.is_int()) return -compare_int_double(b.as_int(), a.as_double());
  const double x = a.as_double(), y = b.as_double();
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) - std::isnan(y);
  return x < y ? -1 : x > y;
}

}  // namespace

int compare_values(const Value& a, const Value& b) {
  const int ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.kind()) {
    case Value::Kind::kNull:
      return 0;
    case Value::Kind::kBool:
      return static_cast<int>(a.as_bool()) - static_cast<int>(b.as_bool());
    case Value::Kind::kInt:
    case Value::Kind::kDouble:
      return compare_numbers(a, b);
    case Value::Kind::kString:
      return sign(a.as_string().compare(b.as_string()));
    case Value::Kind::kArray: {
      const auto& x = a.as_array();
      const auto& y = b.as_array();
      for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
        if (int c = compare_values(x[i], y[i])) return c;
      }
      return x.size() < y.size() ? -1 : x.size() > y.size();
    }
    case Value::Kind::kObject: {
      const auto& x = a.as_object();
      const auto& y = b.as_object();
      auto i = x.begin();
      auto j = y.begin();
      for (; i != x.end() && j != y.end(); ++i, ++j) {
        if (int c = sign(i->first.compare(j->first))) return c;
        if (int c = compare_values(i->second, j->second)) return c;
      }
      return i == x.end() ? (j == y.end() ? 0 : -1) : 1;
    }
  }
  return 0;
}

KindFamily family_of(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return KindFamily::kNull;
    case Value::Kind::kBool:
      return KindFamily::kBool;
    case Value::Kind::kInt:
    case Value::Kind::kDouble:
      return KindFamily::kNumber;
    case Value::Kind::kString:
      return KindFamily::kString;
    default:
      return KindFamily::kOther;
  }
}

std::string kind_phrase(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kBool:
      return "a bool";
    case Value::Kind::kInt:
      return "an integer";
    case Value::Kind::kDouble:
      return "a number";
    case Value::Kind::kString:
      return "a string";
    case Value::Kind::kArray:
      return "a list";
    case Value::Kind::kObject:
      return "a map";
  }
  return "a value";
}

Result<std::string> key_text(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kString:
      return v.as_string();
    case Value::Kind::kArray:
    case Value::Kind::kObject:
      return make_error(ErrorCode::kInvalidInput, "is " + kind_phrase(v) + ", not a scalar");
    case Value::Kind::kDouble: {
      // 1.0 and 1 are one number (JSON does not tell them apart; a CSV column or a computed
      // field may give either): a whole decimal keys as the integer, so they group and join
      // together. 2^53: beyond it a double no longer holds every integer.
      const double d = v.as_double();
      if (std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) {
        return std::to_string(static_cast<int64_t>(d));
      }
      return to_json(v);
    }
    default:
      return to_json(v);
  }
}

}  // namespace pl::worker::data
