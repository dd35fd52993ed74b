#include "broker/run_coordinator.h"

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "common/ids.h"
#include "common/pipeline/loader.h"
#include "common/pipeline/validate.h"
#include "common/text.h"

namespace pl::broker {
namespace fs = std::filesystem;

std::string_view run_state_name(RunState state) {
  switch (state) {
    case RunState::kRunning:
      return "running";
    case RunState::kSucceeded:
      return "succeeded";
    case RunState::kFailed:
      return "failed";
    case RunState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

RunCoordinator::RunCoordinator(Dispatcher& dispatcher, RunSettings settings)
    : dispatcher_(dispatcher), settings_(settings) {}

RunCoordinator::~RunCoordinator() = default;

void RunCoordinator::submit(WorkSpec spec) { dispatcher_.submit(std::move(spec)); }

void RunCoordinator::abandon(const std::string& item_id) { dispatcher_.cancel_item(item_id); }

namespace {

Error diagnostics_error(const std::vector<pipeline::Diagnostic>& diagnostics) {
  std::vector<std::string> lines;
  for (const auto& d : diagnostics) {
    if (d.severity == pipeline::Severity::kError) lines.push_back(pipeline::format_diagnostic(d));
  }
  return make_error(ErrorCode::kInvalidInput, join(lines, "\n"));
}

fs::path resolve_dir(const std::string& given, const std::string& from_pipeline,
                     const fs::path& base_dir) {
  if (!given.empty()) return absolute_path(given);
  const fs::path p(from_pipeline);
  return p.is_absolute() ? p.lexically_normal() : (base_dir / p).lexically_normal();
}

}  // namespace

Result<std::string> RunCoordinator::submit(const protocol::SubmitRun& request, WallTime now) {
  auto loaded = pipeline::load_pipeline_text(request.pipeline_yaml, request.pipeline_path);
  if (!loaded.ok()) return diagnostics_error(loaded.diagnostics);
  const fs::path base_dir = fs::path(request.pipeline_path).parent_path();
  auto problems = pipeline::validate_pipeline(*loaded.pipeline, {base_dir});
  if (pipeline::has_errors(problems)) return diagnostics_error(problems);
  auto inputs = pipeline::bind_inputs(*loaded.pipeline, request.inputs);
  if (!inputs.ok()) return std::move(inputs).error();

  PipelineContext context;
  context.pipeline = std::make_shared<const pipeline::Pipeline>(std::move(*loaded.pipeline));
  context.inputs = std::move(*inputs);
  RunPaths paths;
  paths.base_dir = base_dir;
  paths.workspace_dir = resolve_dir(request.workspace_dir, context.pipeline->workspace_dir, base_dir);
  paths.output_dir = resolve_dir(request.output_dir, context.pipeline->output_dir, base_dir);

  RunRecord record;
  record.id = new_id("run-", now);
  record.pipeline_name = context.pipeline->name;
  record.pipeline_path = request.pipeline_path;
  record.created_ms = unix_millis(now);
  const std::string id = record.id;
  ItemSink& sink = *this;
  record.execution = std::make_unique<RunExecution>(id, std::move(context), std::move(paths),
                                                    settings_, sink);
  RunRecord& run = runs_.emplace(id, std::move(record)).first->second;
  spdlog::info("run {} accepted: {} ({})", id, run.pipeline_name, run.pipeline_path);
  run.execution->start();
  settle(run, now);
  return id;
}

void RunCoordinator::on_completions(std::vector<Completion> completions, WallTime now) {
  for (auto& completion : completions) {
    auto it = runs_.find(completion.run_id);
    if (it == runs_.end() || !it->second.execution) continue;
    it->second.execution->on_item_completed(completion.item_id, std::move(completion.result));
    settle(it->second, now);
  }
}

void RunCoordinator::settle(RunRecord& run, WallTime now) {
  if (run.state != RunState::kRunning || !run.execution || !run.execution->finished()) return;
  run.result = run.execution->result();
  const bool success = run.result.get_bool("success");
  run.state = success ? RunState::kSucceeded : RunState::kFailed;
  run.error = run.result.get_string("error");
  run.finished_ms = unix_millis(now);
  run.execution.reset();
  finished_.push_back(run.id);
  finished_order_.push_back(run.id);
  if (success) {
    spdlog::info("run {} succeeded", run.id);
  } else {
    spdlog::warn("run {} failed: {}", run.id, run.error);
  }
}

Status RunCoordinator::cancel(const std::string& run_id, WallTime now) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return make_error(ErrorCode::kNotFound, "no run " + run_id);
  RunRecord& run = it->second;
  if (run.state != RunState::kRunning) {
    return make_error(ErrorCode::kConflict,
                      "run " + run_id + " is already " + std::string(run_state_name(run.state)));
  }
  dispatcher_.cancel_run(run_id);
  if (run.execution) run.execution->cancel();
  run.execution.reset();
  run.state = RunState::kCancelled;
  run.error = "cancelled";
  run.result = Value::object();
  run.result["success"] = false;
  run.result["error"] = "cancelled";
  run.finished_ms = unix_millis(now);
  finished_.push_back(run_id);
  finished_order_.push_back(run_id);
  spdlog::info("run {} cancelled", run_id);
  return ok_status();
}

void RunCoordinator::forget_finished_beyond(size_t keep) {
  while (finished_order_.size() > keep) {
    runs_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

const RunRecord* RunCoordinator::find(const std::string& run_id) const {
  auto it = runs_.find(run_id);
  return it == runs_.end() ? nullptr : &it->second;
}

protocol::RunStatus RunCoordinator::status(const RunRecord& run) const {
  protocol::RunStatus s;
  s.run_id = run.id;
  s.state = std::string(run_state_name(run.state));
  Value progress;
  if (run.execution) {
    const RunProgress& p = run.execution->progress();
    progress["done"] = static_cast<int64_t>(p.done);
    progress["failed"] = static_cast<int64_t>(p.failed);
    progress["running"] = static_cast<int64_t>(p.submitted - p.done);
  }
  s.progress = std::move(progress);
  if (run.state != RunState::kRunning) {
    s.result = run.result;
    s.error = run.error;
  }
  return s;
}

}  // namespace pl::broker
