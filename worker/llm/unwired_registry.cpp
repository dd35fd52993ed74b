#include "worker/llm/unwired_registry.h"

#include "common/text.h"

namespace pl::worker::llm {
namespace {

constexpr std::string_view kNotWired = "the registry client is not wired into the worker yet";

}  // namespace

Result<std::vector<providers::ToolSpec>> UnwiredToolInvoker::describe(
    const std::vector<std::string>& names, const providers::CallContext&) {
  return make_error(ErrorCode::kStepFailed, "tools are not available on this worker (" +
                                                 std::string(kNotWired) + "): cannot offer " +
                                                 join(names, ", "));
}

Result<Value> UnwiredToolInvoker::invoke(const std::string& name, const Value&, const ToolRunContext&) {
  return make_error(ErrorCode::kStepFailed, "tools are not available on this worker (" +
                                                 std::string(kNotWired) + "): cannot run " + name);
}

Result<SessionSnapshot> UnwiredSessionStore::load(const std::string& name, size_t,
                                                  const providers::CallContext&) {
  return make_error(ErrorCode::kStepFailed, "sessions are not available on this worker (" +
                                                 std::string(kNotWired) + "): cannot read session \"" +
                                                 name + "\"");
}

Result<int64_t> UnwiredSessionStore::append(const std::string& name, const std::vector<SessionTurn>&,
                                            int64_t, const providers::CallContext&) {
  return make_error(ErrorCode::kStepFailed, "sessions are not available on this worker (" +
                                                 std::string(kNotWired) + "): cannot save session \"" +
                                                 name + "\"");
}

}  // namespace pl::worker::llm
