// One request to a tree's supervisor on its control socket, for the commands that only read
// (top, and tree_endpoint asking whether a child is restarting). The admin commands keep their
// own caller, which prints and maps every outcome to an exit code.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"
#include "common/value.h"

namespace pl::net {
class Context;
}

namespace pl::cli {

// The result of `command` at the control `endpoint` within `timeout`; an error for no answer
// (kTimeout), an unreadable one, or the supervisor's refusal (its code and words).
Result<Value> control_call(net::Context& context, const std::string& endpoint,
                           const std::string& command, std::chrono::milliseconds timeout);

}  // namespace pl::cli
