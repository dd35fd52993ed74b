// Value: the JSON-shaped data that flows through pipelines (inputs, step results, variables,
// message bodies). null, bool, 64-bit integer, double, UTF-8 string, array, object.
//
// Objects keep their keys sorted, so a Value prints the same way every time. Integers and
// doubles are distinct kinds: 3 and 3.0 compare unequal, which keeps JSON round trips exact.
// Not thread-safe; copy it to share it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace pl {

// The order of an object's keys: std::string's own (bytes as unsigned char, then length), with
// the bytes compared inline. Keys are short ("success", "error_code"), and member lookups run
// many times per item in the broker and workers; std::less<> calls memcmp for every step of
// every lookup, which cost more than the walk of the tree itself.
struct KeyLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept {
    const size_t n = a.size() < b.size() ? a.size() : b.size();
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
    }
    return a.size() < b.size();
  }
};

class Value {
 public:
  using Array = std::vector<Value>;
  using Object = std::map<std::string, Value, KeyLess>;

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
// The same with its article, as a message says it: "null", "an integer", "a map".
std::string a_kind(Value::Kind kind);

}  // namespace pl
