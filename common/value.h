// Value: the JSON-shaped data that flows through pipelines (inputs, step results, variables,
// message bodies). null, bool, 64-bit integer, double, UTF-8 string, array, object.
//
// Objects keep their keys sorted, so a Value prints the same way every time. Integers and
// doubles are distinct kinds: 3 and 3.0 compare unequal, which keeps JSON round trips exact.
// Not thread-safe; copy it to share it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace pl {

class Value;

// The members of a Value object, sorted by key in one vector: one allocation per object rather
// than one per member, and lookups by binary search over adjacent keys. The std::map calls the
// code uses, with one difference that matters: an insert or an erase moves the members after
// it, so a reference or iterator into an object does not survive an insert into or an erase
// from that same object. (A build with PIPELINE_VALUE_CHECKS moves every member on every such
// change, so that AddressSanitizer reports any reference held across one.)
class ValueObject {
 public:
  using value_type = std::pair<std::string, Value>;
  using iterator = std::vector<value_type>::iterator;
  using const_iterator = std::vector<value_type>::const_iterator;

  ValueObject() = default;
  ValueObject(std::initializer_list<value_type> members);

  iterator begin();
  iterator end();
  const_iterator begin() const;
  const_iterator end() const;
  size_t size() const;
  bool empty() const;
  void reserve(size_t members);

  iterator find(std::string_view key);
  const_iterator find(std::string_view key) const;
  size_t count(std::string_view key) const;

  // Inserts when the key is absent (the value is then built from `value`); either way returns
  // the member and whether it was inserted.
  template <class V>
  std::pair<iterator, bool> emplace(std::string_view key, V&& value);
  // The same, searching nowhere when the key goes after every other (as sorted input does).
  template <class V>
  iterator emplace_hint(const_iterator hint, std::string_view key, V&& value);
  template <class V>
  std::pair<iterator, bool> insert_or_assign(std::string_view key, V&& value);
  // The same, with the key moved in and no search when it goes last.
  iterator insert_or_assign(const_iterator hint, std::string&& key, Value&& value);
  Value& operator[](std::string_view key);

  size_t erase(std::string_view key);
  iterator erase(const_iterator it);

  friend bool operator==(const ValueObject& a, const ValueObject& b);

 private:
  iterator lower_bound(std::string_view key);
  const_iterator lower_bound(std::string_view key) const;
  // Inserts before `at` (a lower bound of `key`).
  iterator insert_at(const_iterator at, std::string&& key, Value&& value);
  // PIPELINE_VALUE_CHECKS: moves every member to a new buffer before a change.
  void relocate_for_checks();

  std::vector<value_type> members_;
};

class Value {
 public:
  using Array = std::vector<Value>;
  using Object = ValueObject;

  enum class Kind : uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kObject };

  Value() = default;
  Value(std::nullptr_t) {}  // NOLINT: implicit by design, as for every constructor below
  Value(bool b) : v_(b) {}  // NOLINT
  template <class I,
            std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Value(I i) : v_(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double d) : v_(d) {}                    // NOLINT
  Value(const char* s) : v_(std::string(s)) {}  // NOLINT
  Value(std::string s) : v_(std::move(s)) {}    // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}  // NOLINT
  Value(Array a) : v_(std::move(a)) {}          // NOLINT
  Value(Object o) : v_(std::move(o)) {}         // NOLINT

  static Value array() { return Value(Array{}); }
  static Value object() { return Value(Object{}); }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::kNull; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_double() const { return kind() == Kind::kDouble; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_array() const { return kind() == Kind::kArray; }
  bool is_object() const { return kind() == Kind::kObject; }

  // Accessors. REQUIRES: the matching kind (as_double also accepts an integer).
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const;
  const std::string& as_string() const { return std::get<std::string>(v_); }
  std::string& as_string() { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }
  Object& as_object() { return std::get<Object>(v_); }

  // Object member lookup; nullptr when this is not an object or has no such key.
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  // Object member for writing; turns a null into an empty object first.
  // REQUIRES: is_null() || is_object().
  Value& operator[](std::string_view key);
  // Appends to an array; turns a null into an empty array first.
  // REQUIRES: is_null() || is_array().
  void push_back(Value v);

  // Elements of an array, members of an object, bytes of a string; 0 otherwise.
  size_t size() const;

  // Typed member reads with a fallback, for optional fields.
  std::string get_string(std::string_view key, std::string_view fallback = {}) const;
  int64_t get_int(std::string_view key, int64_t fallback = 0) const;
  bool get_bool(std::string_view key, bool fallback = false) const;

  // False for null, false, "", [] and {}; true otherwise, numbers included (the pipeline
  // format's rule for a bare reference in a condition).
  bool truthy() const;

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object> v_;
};

// Equality as JSON sees it (an expression's `==`, a schema's `const` and `enum`): numbers by
// value (1 == 1.0), lists and maps element by element. operator== tells 1 from 1.0.
bool values_equal(const Value& a, const Value& b);

// "null", "bool", "integer", "number", "string", "list", "map": the words our errors use.
std::string_view kind_name(Value::Kind kind);

// ValueObject's members, defined here where Value is complete.

inline ValueObject::ValueObject(std::initializer_list<value_type> members) {
  members_.reserve(members.size());
  for (const auto& m : members) emplace(m.first, m.second);  // a repeated key: the first stays
}

inline ValueObject::iterator ValueObject::begin() { return members_.begin(); }
inline ValueObject::iterator ValueObject::end() { return members_.end(); }
inline ValueObject::const_iterator ValueObject::begin() const { return members_.begin(); }
inline ValueObject::const_iterator ValueObject::end() const { return members_.end(); }
inline size_t ValueObject::size() const { return members_.size(); }
inline bool ValueObject::empty() const { return members_.empty(); }
inline void ValueObject::reserve(size_t members) { members_.reserve(members); }
inline bool operator==(const ValueObject& a, const ValueObject& b) { return a.members_ == b.members_; }

inline ValueObject::iterator ValueObject::lower_bound(std::string_view key) {
  return std::lower_bound(members_.begin(), members_.end(), key,
                          [](const value_type& m, std::string_view k) { return m.first < k; });
}

inline ValueObject::const_iterator ValueObject::lower_bound(std::string_view key) const {
  return std::lower_bound(members_.begin(), members_.end(), key,
                          [](const value_type& m, std::string_view k) { return m.first < k; });
}

inline size_t ValueObject::count(std::string_view key) const { return find(key) == end() ? 0 : 1; }

inline ValueObject::iterator ValueObject::find(std::string_view key) {
  auto it = lower_bound(key);
  return it != members_.end() && it->first == key ? it : members_.end();
}

inline ValueObject::const_iterator ValueObject::find(std::string_view key) const {
  auto it = lower_bound(key);
  return it != members_.end() && it->first == key ? it : members_.end();
}

inline void ValueObject::relocate_for_checks() {
#ifdef PIPELINE_VALUE_CHECKS
  std::vector<value_type> moved;
  moved.reserve(members_.size() + 1);
  for (auto& m : members_) moved.emplace_back(std::string(m.first), std::move(m.second));
  members_.swap(moved);
#endif
}

inline ValueObject::iterator ValueObject::insert_at(const_iterator at, std::string&& key,
                                                    Value&& value) {
#ifdef PIPELINE_VALUE_CHECKS
  const auto offset = at - members_.cbegin();
  relocate_for_checks();
  at = members_.cbegin() + offset;
#endif
  return members_.emplace(at, std::move(key), std::move(value));
}

template <class V>
std::pair<ValueObject::iterator, bool> ValueObject::emplace(std::string_view key, V&& value) {
  auto it = lower_bound(key);
  if (it != members_.end() && it->first == key) return {it, false};
  return {insert_at(it, std::string(key), Value(std::forward<V>(value))), true};
}

template <class V>
ValueObject::iterator ValueObject::emplace_hint(const_iterator hint, std::string_view key,
                                                V&& value) {
  if (hint == members_.cend() && (members_.empty() || members_.back().first < key)) {
    return insert_at(members_.cend(), std::string(key), Value(std::forward<V>(value)));
  }
  return emplace(key, std::forward<V>(value)).first;
}

template <class V>
std::pair<ValueObject::iterator, bool> ValueObject::insert_or_assign(std::string_view key,
                                                                     V&& value) {
  auto it = lower_bound(key);
  if (it != members_.end() && it->first == key) {
    it->second = Value(std::forward<V>(value));
    return {it, false};
  }
  return {insert_at(it, std::string(key), Value(std::forward<V>(value))), true};
}

inline ValueObject::iterator ValueObject::insert_or_assign(const_iterator hint, std::string&& key,
                                                           Value&& value) {
  if (hint == members_.cend() && (members_.empty() || members_.back().first < key)) {
    return insert_at(members_.cend(), std::move(key), std::move(value));
  }
  return insert_or_assign(std::string_view(key), std::move(value)).first;
}

inline Value& ValueObject::operator[](std::string_view key) {
  auto it = lower_bound(key);
  if (it != members_.end() && it->first == key) return it->second;
  return insert_at(it, std::string(key), Value())->second;
}

inline ValueObject::iterator ValueObject::erase(const_iterator it) {
#ifdef PIPELINE_VALUE_CHECKS
  const auto offset = it - members_.cbegin();
  relocate_for_checks();
  it = members_.cbegin() + offset;
#endif
  return members_.erase(it);
}

inline size_t ValueObject::erase(std::string_view key) {
  auto it = find(key);
  if (it == members_.end()) return 0;
  erase(it);
  return 1;
}

}  // namespace pl
