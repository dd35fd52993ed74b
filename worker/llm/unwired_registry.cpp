#include "worker/llm/unwired_registry.h"

#include "common/text.h"

namespace pl::worker::llm {
namespace {

constexpr std::string_view kNotWired = "these LLM services were built without a registry";

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

Result<Session> UnwiredSessionStore::load(const std::string& name, const HistoryWindow&,
                                          const providers::CallContext&) {
  return make_error(ErrorCode::kStepFailed, "sessions are not available on this worker (" +
                                                 std::string(kNotWired) + "): cannot read session \"" +
                                                 name + "\"");
}

Result<int64_t> UnwiredSessionStore::append(const TurnAppend& turn, const providers::CallContext&) {
  return make_error(ErrorCode::kStepFailed, "sessions are not available on this worker (" +
                                                 std::string(kNotWired) + "): cannot save session \"" +
                                                 turn.session + "\"");
}

Result<int64_t> UnwiredSessionStore::max_turn_bytes(const providers::CallContext&) {
  return make_error(ErrorCode::kStepFailed, "sessions are not available on this worker (" +
                                                 std::string(kNotWired) + ")");
}

}  // namespace pl::worker::llm
