#include "worker/llm/registry_tools.h"

#include <spdlog/spdlog.h>

#include <array>

#include "common/json.h"
#include "common/text.h"
#include "worker/tool_runner.h"

namespace pl::worker::llm {

bool is_claude_code_builtin_tool(std::string_view name) {
  static constexpr std::array<std::string_view, 16> kBuiltins{
      "Bash", "Read", "Write", "Edit", "MultiEdit", "LS", "Glob", "Grep", "WebFetch",
      "WebSearch", "NotebookRead", "NotebookEdit", "TodoRead", "TodoWrite", "Task", "Search"};
  for (auto builtin : kBuiltins) {
    if (builtin == name) return true;
  }
  return false;
}

RegistryToolInvoker::RegistryToolInvoker(ToolCatalog& catalog, std::vector<std::string> environment)
    : catalog_(catalog), environment_(std::move(environment)) {}

Result<std::vector<providers::ToolSpec>> RegistryToolInvoker::describe(
    const std::vector<std::string>& names, const providers::CallContext& call) {
  const CallLimit limit = item_call_limit(call.deadline, call.cancel);
  std::vector<providers::ToolSpec> specs;
  std::vector<std::string> missing, skipped;
  for (const auto& name : names) {
    auto tool = catalog_.find(name, limit);
    if (tool.ok()) {
      specs.push_back(providers::ToolSpec{tool->name, tool->description, tool->input_schema});
      continue;
    }
    if (tool.error().code != ErrorCode::kNotFound) return std::move(tool).error();
    if (is_claude_code_builtin_tool(name)) {
      skipped.push_back(name);
    } else {
      missing.push_back(name);
    }
  }
  if (!missing.empty()) {
    return make_error(ErrorCode::kNotFound,
                      "no such tools in the registry: " + join(missing, ", ") +
                          " (pipelinectl tools register FILE adds one)");
  }
  if (!skipped.empty()) {
    spdlog::warn("allowed_tools names Claude Code's own tools {} that are not registered here; "
                 "the call goes on without them",
                 join(skipped, ", "));
  }
  return specs;
}

Result<Value> RegistryToolInvoker::invoke(const std::string& name, const Value& arguments,
                                          const ToolRunContext& context) {
  auto tool = catalog_.find(name, item_call_limit(context.call.deadline, context.call.cancel));
  if (!tool.ok()) return std::move(tool).error();
  worker::ToolRunContext run;
  if (context.work_context) run.workspace_dir = context.work_context->get_string("workspace_dir");
  run.deadline = context.call.deadline;
  run.cancel = context.call.cancel;
  run.environment = environment_;
  auto outcome = run_tool(*tool, arguments, run);
  if (!outcome.ok()) return std::move(outcome).error();
  // The model sees the tool's output: its JSON when it printed JSON, else its text.
  if (const Value* data = outcome->find("data"); data && !data->is_null()) return *data;
  return outcome->find("text") ? *outcome->find("text") : Value("");
}

Result<Session> RegistrySessionStore::load(const std::string& name, const HistoryWindow& window,
                                           const providers::CallContext& call) {
  return client_.get_recent_turns(name, static_cast<int64_t>(window.last_turns),
                                  static_cast<int64_t>(window.max_bytes),
                                  item_call_limit(call.deadline, call.cancel));
}

Result<int64_t> RegistrySessionStore::append(const TurnAppend& turn,
                                             const providers::CallContext& call) {
  return client_.append_turn(turn, item_call_limit(call.deadline, call.cancel));
}

Result<int64_t> RegistrySessionStore::max_turn_bytes(const providers::CallContext& call) {
  {
    std::lock_guard lock(mutex_);
    if (max_turn_bytes_) return *max_turn_bytes_;
  }
  auto limits = client_.limits(item_call_limit(call.deadline, call.cancel));
  if (!limits.ok()) return std::move(limits).error();
  const int64_t bytes = limits->get_int("max_turn_bytes", 0);  // 0: an older registry
  std::lock_guard lock(mutex_);
  max_turn_bytes_ = bytes;
  return bytes;
}

}  // namespace pl::worker::llm
