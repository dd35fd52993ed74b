#include "common/value.h"

namespace pl {

double Value::as_double() const {
  if (is_int()) return static_cast<double>(u_.i);
  return require(Kind::kDouble).u_.d;
}

void Value::construct_from(const Value& other) {
  switch (other.kind_) {
    case Kind::kString:
      new (&u_.s) std::string(other.u_.s);
      break;
    case Kind::kArray:
      new (&u_.a) Array(other.u_.a);
      break;
    case Kind::kObject:
      new (&u_.o) Object(other.u_.o);
      break;
    default:
      copy_scalar(other);
      break;
  }
  kind_ = other.kind_;
}

void Value::destroy_resources() noexcept {
  switch (kind_) {
    case Kind::kString:
      u_.s.~basic_string();
      break;
    case Kind::kArray:
      u_.a.~Array();
      break;
    case Kind::kObject:
      u_.o.~Object();
      break;
    default:
      break;
  }
  kind_ = Kind::kNull;
}

Value& Value::operator=(const Value& other) {
  if (this == &other) return *this;
  // Copied first: `other` may live inside this value (a member assigned to its parent).
  Value copy(other);
  return *this = std::move(copy);
}

Value& Value::replace_with(Value&& other) noexcept {
  if (this == &other) return *this;
  // Taken first: `other` may live inside this value, which is freed below.
  Value taken(std::move(other));
  destroy_resources();  // leaves a null
  construct_from(std::move(taken));
  return *this;
}

bool operator==(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kBool:
      return a.u_.b == b.u_.b;
    case Value::Kind::kInt:
      return a.u_.i == b.u_.i;
    case Value::Kind::kDouble:
      return a.u_.d == b.u_.d;
    case Value::Kind::kString:
      return a.u_.s == b.u_.s;
    case Value::Kind::kArray:
      return a.u_.a == b.u_.a;
    case Value::Kind::kObject:
      return a.u_.o == b.u_.o;
  }
  return false;
}

const Value* Value::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  const auto& object = as_object();
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->second;
}

Value* Value::find(std::string_view key) {
  return const_cast<Value*>(static_cast<const Value*>(this)->find(key));
}

Value& Value::operator[](std::string_view key) {
  if (is_null()) *this = Object{};
  auto& object = as_object();
  // One walk of the tree for a lookup and an insertion both (results gain members this way
  // several times per item).
  auto it = object.lower_bound(key);
  if (it != object.end() && it->first == key) return it->second;
  return object.emplace_hint(it, std::string(key), Value())->second;
}

void Value::push_back(Value v) {
  if (is_null()) *this = Array{};
  as_array().push_back(std::move(v));
}

size_t Value::size() const {
  switch (kind()) {
    case Kind::kArray:
      return as_array().size();
    case Kind::kObject:
      return as_object().size();
    case Kind::kString:
      return as_string().size();
    default:
      return 0;
  }
}

std::string Value::get_string(std::string_view key, std::string_view fallback) const {
  const Value* v = find(key);
  return v && v->is_string() ? v->as_string() : std::string(fallback);
}

int64_t Value::get_int(std::string_view key, int64_t fallback) const {
  const Value* v = find(key);
  if (!v) return fallback;
  if (v->is_int()) return v->as_int();
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  return fallback;
}

bool Value::get_bool(std::string_view key, bool fallback) const {
  const Value* v = find(key);
  return v && v->is_bool() ? v->as_bool() : fallback;
}

bool Value::truthy() const {
  switch (kind()) {
    case Kind::kNull:
      return false;
    case Kind::kBool:
      return as_bool();
    case Kind::kInt:
    case Kind::kDouble:
      return true;  // the format's rule: 0 is a value, not an absence
    default:
      return size() != 0;
  }
}

std::string_view kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "integer";
    case Value::Kind::kDouble:
      return "number";
    case Value::Kind::kString:
      return "string";
    case Value::Kind::kArray:
      return "list";
    case Value::Kind::kObject:
      return "map";
  }
  return "unknown";
}

std::string a_kind(Value::Kind kind) {
  if (kind == Value::Kind::kNull) return "null";
  if (kind == Value::Kind::kInt) return "an integer";
  return "a " + std::string(kind_name(kind));
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.as_array();
    const auto& y = b.as_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!values_equal(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.as_object();
    const auto& y = b.as_object();
    if (x.size() != y.size()) return false;
    for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
      if (i->first != j->first || !values_equal(i->second, j->second)) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace pl
