#include "broker/run_coordinator.h"

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/pipeline/loader.h"
#include "common/pipeline/validate.h"
#include "common/protocol/envelope.h"
#include "common/text.h"
#include "worker/data/step_checks.h"

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

RunCoordinator::RunCoordinator(Dispatcher& dispatcher, RunStore& store, RunSettings settings,
                               size_t max_outstanding_items)
    : dispatcher_(dispatcher),
      store_(store),
      settings_(settings),
      max_outstanding_items_(max_outstanding_items) {}

bool RunCoordinator::has_capacity() {
  return dispatcher_.outstanding() < max_outstanding_items_;
}

RunCoordinator::~RunCoordinator() = default;

void RunCoordinator::submit(WorkSpec&& spec) { dispatcher_.submit(std::move(spec), now_); }

void RunCoordinator::abandon(const std::string& item_id) { dispatcher_.cancel_item(item_id, now_); }

std::optional<Value> RunCoordinator::recorded(const std::string& item_id) {
  // Only a recovered or resumed run can have records; a new run's items never do, so it
  // costs nothing.
  if (memos_.empty()) return std::nullopt;
  const size_t slash = item_id.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto memo = memos_.find(std::string_view(item_id).substr(0, slash));
  if (memo == memos_.end()) return std::nullopt;
  auto result = memo->second.take(item_id);
  if (!memo->second.problem().empty()) {
    // The item runs again: costly, but never wrong.
    note(make_error(ErrorCode::kIo, memo->second.problem()), "reading back a recorded result");
    memo->second.clear_problem();
  }
  if (result && recovering_) recovery_step(memo->first, /*replayed=*/true);
  return result;
}

void RunCoordinator::on_recovery_progress(std::function<void(const std::string&)> progress,
                                          uint64_t every) {
  recovery_progress_ = std::move(progress);
  recovery_every_ = every;
}

void RunCoordinator::recovery_step(std::string_view run_id, bool replayed) {
  ++(replayed ? recovery_replayed_ : recovery_read_);
  if (!recovery_progress_ || recovery_every_ == 0 ||
      (recovery_read_ + recovery_replayed_) % recovery_every_ != 0) {
    return;
  }
  recovery_progress_("recovering run " + std::string(run_id) + ": " +
                     std::to_string(recovery_read_) + " recorded item results read, " +
                     std::to_string(recovery_replayed_) + " replayed");
}

void RunCoordinator::note(const Status& status, std::string_view what) {
  if (status.ok()) return;
  ++counters_.store_errors;
  spdlog::error("broker.db: {}: {}", what, status.error().message);
}

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

Result<RunCoordinator::PreparedRun> RunCoordinator::prepare_run(const StoredRun& stored,
                                                                Checks checks) const {
  auto loaded = pipeline::load_pipeline_text(stored.pipeline_yaml, stored.pipeline_path);
  if (!loaded.ok()) return diagnostics_error(loaded.diagnostics);
  const fs::path base_dir = fs::path(stored.pipeline_path).parent_path();
  if (checks == Checks::kValidate) {
    pipeline::ValidateOptions options{base_dir};
    options.check_step_options = worker::data::check_data_step_options;
    auto problems = pipeline::validate_pipeline(*loaded.pipeline, options);
    if (pipeline::has_errors(problems)) return diagnostics_error(problems);
  }
  auto inputs = pipeline::bind_inputs(*loaded.pipeline, stored.inputs);
  if (!inputs.ok()) return std::move(inputs).error();

  PreparedRun prepared;
  PipelineContext& context = prepared.context;
  context.pipeline = std::make_shared<const pipeline::Pipeline>(std::move(*loaded.pipeline));
  context.inputs = std::move(*inputs);
  context.base_dir = base_dir;
  context.files = {absolute_path(stored.pipeline_path).string()};
  RunPaths& paths = prepared.paths;
  paths.base_dir = base_dir;
  paths.workspace_dir = resolve_dir(stored.workspace_dir, context.pipeline->workspace_dir, base_dir);
  paths.output_dir = resolve_dir(stored.output_dir, context.pipeline->output_dir, base_dir);
  return prepared;
}

std::string RunCoordinator::start_run(const StoredRun& stored, PreparedRun prepared, bool replaying,
                                      Instant now) {
  now_ = now.steady;
  PipelineContext& context = prepared.context;
  RunRecord record;
  record.id = stored.id.empty() ? new_id("run-", now.wall) : stored.id;
  record.pipeline_name = context.pipeline->name;
  record.pipeline_path = stored.pipeline_path;
  record.created_ms = stored.created_ms ? stored.created_ms : unix_millis(now.wall);
  record.replaying = replaying;
  const std::string id = record.id;
  ItemSink& sink = *this;
  record.execution = std::make_unique<RunExecution>(id, std::move(context),
                                                    std::move(prepared.paths), settings_, sink);
  runs_.erase(id);
  runs_.emplace(id, std::move(record));
  if (replaying) {
    // Unreadable records make their items run again: costly, but never wrong.
    auto memo = RecordedResults::index(store_, id, [&] {
      if (recovering_) recovery_step(id, /*replayed=*/false);
    });
    if (!memo.ok()) {
      note(memo.error(), "reading the recorded item results of " + id);
    } else {
      if (!memo->problem().empty()) {
        note(make_error(ErrorCode::kIo, memo->problem()), "reading the recorded item results");
      }
      memos_.insert_or_assign(id, std::move(*memo));
    }
  }
  return id;
}

Result<std::optional<std::string>> RunCoordinator::submitted_before(
    const protocol::SubmitRun& request) {
  if (request.idempotency_key.empty()) return std::optional<std::string>();
  auto before = store_.run_by_idempotency_key(request.idempotency_key);
  if (!before.ok()) {
    note(before.error(), "looking up an idempotency key");
    return make_error(ErrorCode::kUnavailable,
                      "the broker cannot read its runs: " + before.error().message);
  }
  if (!*before) return std::optional<std::string>();
  const StoredRun& run = **before;
  if (run.pipeline_path != request.pipeline_path || run.pipeline_yaml != request.pipeline_yaml ||
      to_json(run.inputs) != to_json(request.inputs) ||  // as stored: JSON text
      run.workspace_dir != request.workspace_dir || run.output_dir != request.output_dir) {
    return make_error(ErrorCode::kConflict,
                      "idempotency key \"" + request.idempotency_key + "\" was given to run " +
                          run.id + " (" + run.pipeline_path +
                          "), submitted with another pipeline text, other inputs or other "
                          "directories; a new submission needs a new key");
  }
  ++counters_.submitted_again;
  spdlog::info("run {} submitted again under idempotency key \"{}\": not run twice", run.id,
               request.idempotency_key);
  return std::optional<std::string>(run.id);
}

Result<std::string> RunCoordinator::submit(const protocol::SubmitRun& request, Instant now) {
  now_ = now.steady;
  StoredRun stored;
  stored.idempotency_key = request.idempotency_key;
  stored.pipeline_path = request.pipeline_path;
  stored.pipeline_yaml = request.pipeline_yaml;
  stored.inputs = request.inputs;
  stored.workspace_dir = request.workspace_dir;
  stored.output_dir = request.output_dir;
  stored.state = "running";
  stored.created_ms = unix_millis(now.wall);
  auto prepared = prepare_run(stored, Checks::kValidate);
  if (!prepared.ok()) return std::move(prepared).error();
  const std::string id = start_run(stored, std::move(*prepared), /*replaying=*/false, now);
  RunRecord& run = runs_.at(id);
  stored.id = id;
  stored.pipeline_name = run.pipeline_name;
  if (auto st = store_.put_run(stored); !st.ok()) {
    note(st, "recording an accepted run");
    runs_.erase(id);
    return make_error(ErrorCode::kUnavailable, "the broker cannot record the run: " + st.error().message);
  }
  ++counters_.accepted;
  spdlog::info("run {} accepted: {} ({})", id, run.pipeline_name, run.pipeline_path);
  run.execution->set_now(now.steady);
  run.execution->start();
  settle(run, now);
  return id;
}

Result<size_t> RunCoordinator::recover(Instant now) {
  now_ = now.steady;
  auto unfinished = store_.unfinished_runs();
  if (!unfinished.ok()) return std::move(unfinished).error();
  recovering_ = true;
  size_t recovered = 0;
  for (const StoredRun& stored : *unfinished) {
    recovery_read_ = recovery_replayed_ = 0;
    auto prepared = prepare_run(stored, Checks::kAsAccepted);
    if (!prepared.ok()) {
      // The pipeline no longer loads (a broker of another version?): fail it loudly rather
      // than leave it running forever.
      spdlog::error("run {} cannot be recovered: {}", stored.id, prepared.error().message);
      Value result;
      result["success"] = false;
      result["error"] = "not recoverable: " + prepared.error().message;
      note(store_.finish_run(stored.id, "failed", result, result.get_string("error"), unix_millis(now.wall)),
           "failing an unrecoverable run");
      continue;
    }
    const std::string id = start_run(stored, std::move(*prepared), /*replaying=*/true, now);
    ++recovered;
    ++counters_.recovered;
    RunRecord& run = runs_.at(id);
    auto done = store_.item_count(id);
    spdlog::info("run {} recovered ({} item results on record)", id, done.ok() ? *done : 0);
    run.execution->set_now(now.steady);
    run.execution->start();
    settle(run, now);
    if (run.execution && run.execution->replay_pending()) replaying_.insert(id);
  }
  recovering_ = false;
  if (!replaying_.empty()) dispatcher_.set_replaying(true);
  return recovered;
}

void RunCoordinator::end_finished_replays() {
  if (replaying_.empty()) return;
  std::erase_if(replaying_, [&](const std::string& id) {
    const RunRecord* run = find(id);
    return !run || !run->execution || !run->execution->replay_pending();
  });
  if (replaying_.empty()) dispatcher_.set_replaying(false);
}

Result<size_t> RunCoordinator::delete_run(const std::string& run_id) {
  if (const RunRecord* held = find(run_id); held && held->state == RunState::kRunning) {
    return make_error(ErrorCode::kConflict, "run " + run_id + " is running; cancel it first");
  }
  auto deleted = store_.delete_run(run_id);
  if (!deleted.ok()) return deleted;
  runs_.erase(run_id);
  memos_.erase(run_id);
  std::erase(finished_order_, run_id);
  spdlog::info("run {} deleted ({} item results)", run_id, *deleted);
  return deleted;
}

Status RunCoordinator::resume(const std::string& run_id, Instant now) {
  now_ = now.steady;
  if (const RunRecord* held = find(run_id); held && held->state == RunState::kRunning) {
    return make_error(ErrorCode::kConflict, "run " + run_id + " is still running");
  }
  auto stored = store_.get_run(run_id);
  if (!stored.ok()) return std::move(stored).error();
  if (!*stored) return make_error(ErrorCode::kNotFound, "no run " + run_id);
  if ((*stored)->state == "succeeded") {
    return make_error(ErrorCode::kConflict, "run " + run_id + " already succeeded");
  }
  // Checked before the store is changed: a resume that is refused leaves the run as it was.
  auto prepared = prepare_run(**stored, Checks::kValidate);
  if (!prepared.ok()) return std::move(prepared).error();
  if (auto st = store_.drop_failed_items(run_id); !st.ok()) return st;
  if (auto st = store_.reopen_run(run_id); !st.ok()) return st;
  start_run(**stored, std::move(*prepared), /*replaying=*/true, now);
  std::erase(finished_order_, run_id);
  RunRecord& run = runs_.at(run_id);
  ++counters_.resumed;
  spdlog::info("run {} resumed", run_id);
  run.execution->set_now(now.steady);
  run.execution->start();
  settle(run, now);
  return ok_status();
}

void RunCoordinator::on_completions(std::vector<Completion> completions, Instant now) {
  now_ = now.steady;
  for (auto& completion : completions) {
    auto it = runs_.find(completion.run_id);
    if (it == runs_.end() || !it->second.execution) continue;  // cancelled meanwhile
    RunRecord& run = it->second;
    // The digest goes into the record only: the pipeline sees the result as the worker sent it.
    note(store_.put_item_result(run.id, completion.item_id, completion.result,
                                completion.input_digest),
         "recording an item result");
    if (!completion.success && completion.result.get_string("error_code") != "cancelled") {
      ++counters_.dead_letters;
      note(store_.put_dead_letter(DeadLetter{completion.item_id, run.id, completion.step_name,
                                             completion.result.get_int("attempts"),
                                             completion.result.get_string("error"),
                                             unix_millis(now.wall)}),
           "recording a dead letter");
    }
    run.execution->set_now(now.steady);
    run.execution->on_item_completed(completion.tag, std::move(completion.result));
    settle(run, now);
  }
  // Room was made: wake loops and batches that wait for it, one run after another.
  for (auto& [id, run] : runs_) {
    if (!has_capacity()) break;
    if (run.execution && run.execution->waiting_for_capacity()) {
      run.execution->set_now(now.steady);
      run.execution->capacity_freed();
      settle(run, now);
    }
  }
  end_finished_replays();
}

void RunCoordinator::settle(RunRecord& run, Instant now) {
  if (run.state != RunState::kRunning || !run.execution || !run.execution->finished()) return;
  run.result = run.execution->result();
  run.last_loops = run.execution->loop_progress();
  const bool success = run.result.get_bool("success");
  run.state = success ? RunState::kSucceeded : RunState::kFailed;
  run.error = run.result.get_string("error");
  run.finished_ms = unix_millis(now.wall);
  run.execution.reset();
  memos_.erase(run.id);
  note(store_.finish_run(run.id, std::string(run_state_name(run.state)), run.result, run.error,
                         run.finished_ms),
       "recording a finished run");
  finished_.push_back(run.id);
  finished_order_.push_back(run.id);
  if (success) {
    ++counters_.succeeded;
    spdlog::info("run {} succeeded", run.id);
  } else {
    ++counters_.failed;
    spdlog::warn("run {} failed: {}", run.id, run.error);
  }
}

Status RunCoordinator::cancel(const std::string& run_id, Instant now) {
  now_ = now.steady;
  // Cancelling a cancelled run is answered as done: a cancel sent again because its reply was
  // lost (or by a second operator) wants what it already has. A run that succeeded or failed
  // first is a conflict: the cancel did not happen.
  auto it = runs_.find(run_id);
  if (it == runs_.end()) {
    auto stored = store_.get_run(run_id);
    if (!stored.ok()) return std::move(stored).error();
    if (*stored) {
      if ((*stored)->state == run_state_name(RunState::kCancelled)) return ok_status();
      return make_error(ErrorCode::kConflict, "run " + run_id + " is already " + (*stored)->state);
    }
    return make_error(ErrorCode::kNotFound, "no run " + run_id);
  }
  RunRecord& run = it->second;
  if (run.state == RunState::kCancelled) return ok_status();
  if (run.state != RunState::kRunning) {
    return make_error(ErrorCode::kConflict,
                      "run " + run_id + " is already " + std::string(run_state_name(run.state)));
  }
  dispatcher_.cancel_run(run_id, now.steady);
  if (run.execution) {
    run.execution->set_now(now.steady);
    run.execution->cancel();
    run.result = run.execution->result();  // {success: false, error: cancelled, usage?}
    run.last_loops = run.execution->loop_progress();
  } else {
    run.result = Value::object();
    run.result["success"] = false;
    run.result["error"] = "cancelled";
  }
  run.execution.reset();
  memos_.erase(run_id);
  run.state = RunState::kCancelled;
  run.error = "cancelled";
  run.finished_ms = unix_millis(now.wall);
  note(store_.finish_run(run_id, "cancelled", run.result, run.error, run.finished_ms),
       "recording a cancelled run");
  ++counters_.cancelled;
  finished_.push_back(run_id);
  finished_order_.push_back(run_id);
  spdlog::info("run {} cancelled", run_id);
  return ok_status();
}

void RunCoordinator::on_tick(Instant now) {
  now_ = now.steady;
  for (auto& [id, run] : runs_) {
    if (!run.execution || run.execution->next_deadline() > now.steady) continue;
    run.execution->on_tick(now.steady);
    settle(run, now);
  }
  end_finished_replays();
}

TimePoint RunCoordinator::next_deadline() const {
  TimePoint next = TimePoint::max();
  for (const auto& [id, run] : runs_) {
    if (run.execution) next = std::min(next, run.execution->next_deadline());
  }
  return next;
}

void RunCoordinator::forget_finished_beyond(size_t keep) {
  while (finished_order_.size() > keep) {
    auto it = runs_.find(finished_order_.front());
    if (it != runs_.end() && it->second.state != RunState::kRunning) runs_.erase(it);
    finished_order_.pop_front();
  }
}

size_t RunCoordinator::running() const {
  size_t n = 0;
  for (const auto& [id, run] : runs_) n += run.state == RunState::kRunning ? 1 : 0;
  return n;
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
    progress["done"] = static_cast<int64_t>(p.done + p.replayed);
    progress["failed"] = static_cast<int64_t>(p.failed);
    progress["running"] = static_cast<int64_t>(p.submitted - p.done);
    progress["replayed"] = static_cast<int64_t>(p.replayed);
    progress["inputs_changed"] = static_cast<int64_t>(p.inputs_changed);
    progress["input_tokens"] = p.input_tokens;
    progress["output_tokens"] = p.output_tokens;
    progress["cost_usd"] = p.cost_usd;
    progress["unpriced_calls"] = p.unpriced_calls;
    progress["loops"] = run.execution->loop_progress();
  } else if (!run.last_loops.is_null()) {
    progress["loops"] = run.last_loops;
  }
  s.progress = std::move(progress);
  if (run.state != RunState::kRunning) {
    s.result = run.result;
    s.error = run.error;
  }
  return s;
}

}  // namespace pl::broker
