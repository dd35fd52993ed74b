// Value: the JSON-shaped data that flows through pipelines (inputs, step results, variables,
// message bodies). null, bool, 64-bit integer, double, UTF-8 string, array, object.
//
// Objects keep their keys sorted, so a Value prints the same way every time. Integers and
// doubles are distinct kinds: 3 and 3.0 compare unequal, which keeps JSON round trips exact.
// Not thread-safe; copy it to share it.
#pragma once

#include <cstdint>
#include <map>
#include <new>
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

  Value() noexcept {}
  Value(std::nullptr_t) noexcept {}  // NOLINT: implicit by design, as for every constructor below
  Value(bool b) noexcept : kind_(Kind::kBool) { u_.b = b; }  // NOLINT
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Value(I i) noexcept : kind_(Kind::kInt) {  // NOLINT
    u_.i = static_cast<int64_t>(i);
  }
  Value(double d) noexcept : kind_(Kind::kDouble) { u_.d = d; }  // NOLINT
  Value(const char* s) : Value(std::string(s)) {}                // NOLINT
  Value(std::string s) noexcept : kind_(Kind::kString) {         // NOLINT
    new (&u_.s) std::string(std::move(s));
  }
  Value(std::string_view s) : Value(std::string(s)) {}  // NOLINT
  Value(Array a) noexcept : kind_(Kind::kArray) {       // NOLINT
    new (&u_.a) Array(std::move(a));
  }
  Value(Object o) noexcept : kind_(Kind::kObject) {  // NOLINT
    new (&u_.o) Object(std::move(o));
  }

  Value(const Value& other) { construct_from(other); }
  Value(Value&& other) noexcept { construct_from(std::move(other)); }
  Value& operator=(const Value& other);
  Value& operator=(Value&& other) noexcept {
    // Inline for the usual case, a value that holds nothing yet (a member just made): `other`
    // cannot live inside it, and there is nothing to free.
    if (holds_resources() || this == &other) return replace_with(std::move(other));
    construct_from(std::move(other));
    return *this;
  }
  ~Value() { destroy(); }

  static Value array() { return Value(Array{}); }
  static Value object() { return Value(Object{}); }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind() == Kind::kNull; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_double() const { return kind() == Kind::kDouble; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_array() const { return kind() == Kind::kArray; }
  bool is_object() const { return kind() == Kind::kObject; }

  // Accessors. REQUIRES: the matching kind (as_double also accepts an integer); another kind
  // throws std::bad_variant_access.
  bool as_bool() const { return require(Kind::kBool).u_.b; }
  int64_t as_int() const { return require(Kind::kInt).u_.i; }
  double as_double() const;
  const std::string& as_string() const { return require(Kind::kString).u_.s; }
  std::string& as_string() { return require(Kind::kString).u_.s; }
  const Array& as_array() const { return require(Kind::kArray).u_.a; }
  Array& as_array() { return require(Kind::kArray).u_.a; }
  const Object& as_object() const { return require(Kind::kObject).u_.o; }
  Object& as_object() { return require(Kind::kObject).u_.o; }

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

  // Same kind and same contents (3 and 3.0 differ; NaN differs from itself).
  friend bool operator==(const Value& a, const Value& b);

 private:
  // A tagged union rather than std::variant: values are made, moved and destroyed many times
  // per work item, and the variant's visitation tables (an indirect call for each) cost more
  // than the switch on the kind written out here.
  union Storage {
    Storage() noexcept {}
    ~Storage() {}
    bool b;
    int64_t i;
    double d;
    std::string s;
    Array a;
    Object o;
  };

  const Value& require(Kind kind) const {
    if (kind_ != kind) throw std::bad_variant_access();
    return *this;
  }
  Value& require(Kind kind) {
    if (kind_ != kind) throw std::bad_variant_access();
    return *this;
  }
  // The kinds from kString on own memory (Kind lists them last).
  bool holds_resources() const { return kind_ >= Kind::kString; }
  // REQUIRES: `other` holds a scalar (or null).
  void copy_scalar(const Value& other) noexcept {
    if (other.kind_ == Kind::kBool) {
      u_.b = other.u_.b;
    } else if (other.kind_ == Kind::kInt) {
      u_.i = other.u_.i;
    } else if (other.kind_ == Kind::kDouble) {
      u_.d = other.u_.d;
    }
  }
  // Makes this value what `other` is. REQUIRES: this holds nothing. The kind is set once its
  // member is built: a copy that throws (no memory) leaves a null, never a half-built member.
  void construct_from(const Value& other);
  void construct_from(Value&& other) noexcept {
    switch (other.kind_) {
      case Kind::kString:
        new (&u_.s) std::string(std::move(other.u_.s));
        break;
      case Kind::kArray:
        new (&u_.a) Array(std::move(other.u_.a));
        break;
      case Kind::kObject:
        new (&u_.o) Object(std::move(other.u_.o));
        break;
      default:
        copy_scalar(other);
        break;
    }
    kind_ = other.kind_;
  }
  void destroy() noexcept {
    if (holds_resources()) destroy_resources();
  }
  void destroy_resources() noexcept;
  Value& replace_with(Value&& other) noexcept;

  Kind kind_ = Kind::kNull;
  Storage u_;
};

// Equality as JSON sees it (an expression's `==`, a schema's `const` and `enum`): numbers by
// value (1 == 1.0), lists and maps element by element. operator== tells 1 from 1.0.
bool values_equal(const Value& a, const Value& b);

// "null", "bool", "integer", "number", "string", "list", "map": the words our errors use.
std::string_view kind_name(Value::Kind kind);
// The same with its article, as a message says it: "null", "an integer", "a map".
std::string a_kind(Value::Kind kind);

}  // namespace pl
