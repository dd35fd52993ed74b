// INTERNAL: runs `body` and turns any exception it throws (memory exhaustion, a library bug)
// into a kInternal error, so that no exception crosses this library's API.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pl::pipeline::detail {

template <class Body>
auto no_throw(std::string_view what, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string(what) + " failed: " + e.what());
  }
}

}  // namespace pl::pipeline::detail
