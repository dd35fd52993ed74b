#include "worker/tool_runner.h"

#include <string.h>

#include <algorithm>
#include <csignal>

#include "common/json.h"
#include "worker/child_process.h"
#include "worker/tool_invocation.h"
#include "worker/workspace_path.h"

namespace pl::worker {
namespace {

constexpr size_t kStderrInMessage = 600;

std::string stderr_tail(const ChildOutcome& o) {
  std::string tail = o.err;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
  if (tail.size() > kStderrInMessage) tail = "..." + tail.substr(tail.size() - kStderrInMessage);
  return tail.empty() ? "(no output on stderr)" : tail;
}

std::string signal_story(int sig, const ToolDefinition& tool) {
  std::string text = "was killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  if (sig == SIGXCPU) text += ": it used its CPU limit of " + std::to_string(tool.effective_cpu_seconds()) + " s";
  if (sig == SIGKILL) text += ": a CPU limit, or killed from outside";
  if (sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS) {
    text += "; the memory limit is " + std::to_string(tool.limits.memory_mb) + " MB";
  }
  return text;
}

Value success_value(const ToolDefinition& tool, ChildOutcome& o) {
  Value v;
  v["tool"] = tool.name;
  v["exit_code"] = 0;
  v["stderr"] = o.err;
  if (auto parsed = parse_json(o.out); parsed.ok()) v["data"] = std::move(*parsed);
  v["text"] = std::move(o.out);
  return v;
}

}  // namespace

Result<Value> run_tool(const ToolDefinition& tool, const Value& args, const ToolRunContext& context) {
  const std::string who = "tool " + tool.name;
  auto workspace = open_workspace(context.workspace_dir);
  if (!workspace.ok()) return workspace.error().with_context(who);
  auto spec = prepare_tool_run(tool, args, *workspace, context.environment);
  if (!spec.ok()) return spec.error().with_context(who);

  const TimePoint own_deadline = SteadyClock::now() + std::chrono::milliseconds(tool.timeout_ms);
  const TimePoint deadline = std::min(own_deadline, context.deadline);
  const CancelToken* cancel = context.cancel;
  auto outcome = run_child(*spec, deadline, [cancel] { return cancel && cancel->cancelled(); });
  if (!outcome.ok()) return outcome.error().with_context(who);

  // A child stuck past its SIGKILL is reaped later (child_process.h); the error says so.
  const std::string left_running =
      outcome->left_running ? " (it had not exited " + std::to_string(spec->kill_grace.count()) +
                                  " ms after SIGKILL; it is reaped when it does)"
                            : "";
  switch (outcome->end) {
    case ChildEnd::kExited:
      if (outcome->exit_code == 0) return success_value(tool, *outcome);
      return make_error(ErrorCode::kStepFailed, who + " exited with status " +
                                                    std::to_string(outcome->exit_code) + ": " +
                                                    stderr_tail(*outcome));
    case ChildEnd::kSignaled:
      return make_error(ErrorCode::kStepFailed,
                        who + " " + signal_story(outcome->signal, tool) + ": " + stderr_tail(*outcome));
    case ChildEnd::kTimedOut: {
      const bool own = own_deadline <= context.deadline;
      return make_error(ErrorCode::kTimeout,
                        who + " did not finish within " +
                            (own ? "its timeout of " + std::to_string(tool.timeout_ms) + " ms"
                                 : std::string("the step's deadline")) +
                            " and was killed" + left_running);
    }
    case ChildEnd::kCancelled:
      return make_error(ErrorCode::kCancelled,
                        who + " was killed: " +
                            (cancel ? cancel->reason() : std::string("cancelled")) + left_running);
    case ChildEnd::kOutputTooLarge:
      return make_error(ErrorCode::kTooLarge, who + " wrote more than " +
                                                  std::to_string(tool.max_output_bytes) +
                                                  " bytes to stdout and was killed" +
                                                  left_running);
  }
  return make_error(ErrorCode::kInternal, who + ": unknown outcome");
}

}  // namespace pl::worker
