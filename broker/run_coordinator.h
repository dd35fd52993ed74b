// Every run the broker holds: accepts submissions (parse, validate, bind inputs), drives each
// run's execution with the dispatcher's completions, and answers what a run's status is.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/dispatcher.h"
#include "broker/run_execution.h"
#include "common/clock.h"
#include "common/protocol/client.h"
#include "common/result.h"

namespace pl::broker {

enum class RunState { kRunning, kSucceeded, kFailed, kCancelled };
std::string_view run_state_name(RunState state);

struct RunRecord {
  std::string id;
  std::string pipeline_name;
  std::string pipeline_path;
  RunState state = RunState::kRunning;
  int64_t created_ms = 0;   // wall clock
  int64_t finished_ms = 0;  // wall clock, 0 while running
  std::unique_ptr<RunExecution> execution;
  Value result;             // when finished
  std::string error;        // when failed
};

class RunCoordinator : private ItemSink {
 public:
  RunCoordinator(Dispatcher& dispatcher, RunSettings settings);
  ~RunCoordinator() override;

  // Accepts a run and starts it. kInvalidInput (with every diagnostic, one per line) when the
  // pipeline does not load or validate, or the inputs do not bind.
  Result<std::string> submit(const protocol::SubmitRun& request, WallTime now);
  void on_completions(std::vector<Completion> completions, WallTime now);
  Status cancel(const std::string& run_id, WallTime now);

  // Runs that finished since the last call.
  std::vector<std::string> take_finished() { return std::exchange(finished_, {}); }
  const RunRecord* find(const std::string& run_id) const;
  protocol::RunStatus status(const RunRecord& run) const;
  const std::map<std::string, RunRecord>& runs() const { return runs_; }
  // Forgets the oldest finished runs beyond `keep` (running runs are never forgotten).
  void forget_finished_beyond(size_t keep);

 private:
  void submit(WorkSpec spec) override;
  void abandon(const std::string& item_id) override;
  void settle(RunRecord& run, WallTime now);

  Dispatcher& dispatcher_;
  RunSettings settings_;
  std::map<std::string, RunRecord> runs_;
  std::vector<std::string> finished_;
  std::deque<std::string> finished_order_;  // oldest first
};

}  // namespace pl::broker
