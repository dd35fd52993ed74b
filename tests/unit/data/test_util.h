// Helpers shared by the worker/data tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::worker::data::testing {

// JSON text as a Value; fails the test on bad JSON.
inline Value json(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message) << "\n" << text;
  return v.ok() ? *v : Value();
}

// The value of an ok result; fails the test (and returns null) otherwise.
template <class T>
T ok_value(Result<T> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(*r) : T();
}

// The error of a failed result; fails the test when it succeeded.
template <class T>
Error error_of(const Result<T>& r) {
  EXPECT_FALSE(r.ok()) << "expected an error";
  return r.ok() ? Error{} : r.error();
}

}  // namespace pl::worker::data::testing
