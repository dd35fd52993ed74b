#include "common/protocol/body_reader.h"

#include <cmath>
#include <cstdio>
#include <utility>

namespace pl::protocol {

BodyReader::BodyReader(const Value& body, std::string_view what) : body_(&body), what_(what) {
  if (!body_->is_object()) error_ = what_ + ": body is not a map";
}

BodyReader::BodyReader(std::span<const BodyField> fields, std::string_view what)
    : fields_(fields), what_(what) {}

BodyReader BodyReader::consuming(Value& body, std::string_view what) {
  BodyReader reader(std::as_const(body), what);
  reader.consuming_ = true;
  return reader;
}

BodyReader BodyReader::consuming(std::span<BodyField> fields, std::string_view what) {
  BodyReader reader(std::span<const BodyField>(fields), what);
  reader.consuming_ = true;
  return reader;
}

const Value* BodyReader::field(std::string_view key, bool required) {
  if (!ok()) return nullptr;
  const Value* v = nullptr;
  if (body_) {
    v = body_->find(key);
  } else {
    // From where the last read matched: a decoder reading its fields in the order it listed
    // them finds each at the first or second try.
    for (size_t n = 0; n < fields_.size(); ++n) {
      const size_t i = (next_ + n) % fields_.size();
      if (fields_[i].key != key) continue;
      next_ = i + 1;
      if (fields_[i].present) v = &fields_[i].value;
      break;
    }
  }
  if (!v && required) {
    error_ = what_ + ": field \"" + std::string(key) + "\" is missing";
  }
  return v;
}

void BodyReader::wrong_kind(std::string_view key, const Value& v, std::string_view expected) {
  error_ = what_ + ": field \"" + std::string(key) + "\" is " +
           a_kind(v.kind()) + ", expected " + std::string(expected);
}

// A number that is not an integer: too large for 64 bits (msgpack's uint64 past INT64_MAX
// arrives as a double) or with a fraction; anything else is of the wrong kind.
void BodyReader::not_an_integer(std::string_view key, const Value& v) {
  if (!v.is_double()) return wrong_kind(key, v, "an integer");
  const double d = v.as_double();
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", d);
  error_ = what_ + ": field \"" + std::string(key) + "\" is " + text +
           (std::isfinite(d) && std::trunc(d) == d ? ", beyond a 64-bit integer"
                                                   : ", expected an integer");
}

const Value* BodyReader::string_field(std::string_view key) {
  const Value* v = field(key, true);
  if (v && !v->is_string()) {
    wrong_kind(key, *v, "a string");
    return nullptr;
  }
  return v;
}

std::string BodyReader::string(std::string_view key) {
  const Value* v = string_field(key);
  return v ? v->as_string() : std::string();
}

std::string BodyReader::take_string(std::string_view key) {
  const Value* v = string_field(key);
  if (!v) return {};
  if (!consuming_) return v->as_string();
  return std::move(const_cast<Value*>(v)->as_string());  // handed over: never const
}

std::string BodyReader::optional_string(std::string_view key, std::string_view fallback) {
  const Value* v = field(key, false);
  if (!v || v->is_null()) return std::string(fallback);
  if (!v->is_string()) {
    wrong_kind(key, *v, "a string");
    return std::string(fallback);
  }
  return v->as_string();
}

int64_t BodyReader::integer(std::string_view key) {
  const Value* v = field(key, true);
  if (!v) return 0;
  if (!v->is_int()) {
    not_an_integer(key, *v);
    return 0;
  }
  return v->as_int();
}

int64_t BodyReader::optional_integer(std::string_view key, int64_t fallback) {
  const Value* v = field(key, false);
  if (!v || v->is_null()) return fallback;
  if (!v->is_int()) {
    not_an_integer(key, *v);
    return fallback;
  }
  return v->as_int();
}

uint64_t BodyReader::count(std::string_view key, uint64_t max) {
  const int64_t n = integer(key);
  if (!ok()) return 0;
  if (n < 0 || static_cast<uint64_t>(n) > max) {
    error_ = what_ + ": field \"" + std::string(key) + "\" is " + std::to_string(n) +
             ", expected 0 to " + std::to_string(max);
    return 0;
  }
  return static_cast<uint64_t>(n);
}

std::optional<uint64_t> BodyReader::optional_count(std::string_view key, uint64_t max) {
  const Value* v = field(key, false);
  if (!v || v->is_null()) return std::nullopt;
  return count(key, max);
}

bool BodyReader::boolean(std::string_view key) {
  const Value* v = field(key, true);
  if (!v) return false;
  if (!v->is_bool()) {
    wrong_kind(key, *v, "a bool");
    return false;
  }
  return v->as_bool();
}

bool BodyReader::optional_boolean(std::string_view key, bool fallback) {
  const Value* v = field(key, false);
  if (!v || v->is_null()) return fallback;
  if (!v->is_bool()) {
    wrong_kind(key, *v, "a bool");
    return fallback;
  }
  return v->as_bool();
}

Value BodyReader::value(std::string_view key) {
  const Value* v = field(key, true);
  return v ? *v : Value();
}

Value BodyReader::optional_value(std::string_view key) {
  const Value* v = field(key, false);
  return v ? *v : Value();
}

Value BodyReader::object(std::string_view key) {
  const Value* v = field(key, true);
  if (!v) return Value::object();
  if (!v->is_object()) {
    wrong_kind(key, *v, "a map");
    return Value::object();
  }
  return *v;
}

Status BodyReader::status() const {
  if (ok()) return ok_status();
  return make_error(ErrorCode::kInvalidInput, error_);
}

}  // namespace pl::protocol
