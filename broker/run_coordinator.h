// Every run the broker holds: accepts submissions (parse, validate, bind inputs), records them
// in the RunStore, drives each run's execution with the dispatcher's completions, and recovers
// unfinished runs after a restart.
//
// Durability contract: everything this class writes goes through the store and becomes durable
// at the store's next commit, which the shell performs before it sends any reply or
// acknowledgement of the turn. A run accepted is therefore never lost, and an item result
// recorded is never produced again: recovered and resumed runs finish recorded items from the
// store (ItemSink::recorded).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/dispatcher.h"
#include "broker/recorded_results.h"
#include "broker/run_execution.h"
#include "broker/run_store.h"
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
  bool replaying = false;   // recovered or resumed: consult the memo before dispatching
  std::unique_ptr<RunExecution> execution;
  Value result;             // when finished
  std::string error;        // when failed
  // When finished: its loops' last progress, so that the final status a watcher gets shows
  // how each loop that just ended ended (kept while the record is in memory, not stored).
  Value last_loops;
};

struct CoordinatorCounters {
  uint64_t accepted = 0;
  uint64_t submitted_again = 0;  // submissions answered with the run of their idempotency key
  uint64_t recovered = 0;
  uint64_t resumed = 0;  // started again by resume_run: accepted + recovered + resumed =
                         // finished + running
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t cancelled = 0;
  uint64_t dead_letters = 0;
  uint64_t store_errors = 0;
};

class RunCoordinator : private ItemSink {
 public:
  // `max_outstanding_items` bounds the items held by the dispatcher (queued, in flight or
  // waiting to retry) across all runs; loops and batches wait for room instead of queueing more.
  RunCoordinator(Dispatcher& dispatcher, RunStore& store, RunSettings settings,
                 size_t max_outstanding_items = 20000);
  ~RunCoordinator() override;

  // Accepts a run and starts it. kInvalidInput (with every diagnostic, one per line) when the
  // pipeline does not load or validate, or the inputs do not bind.
  Result<std::string> submit(const protocol::SubmitRun& request, Instant now);
  // The run kept under the request's idempotency key, when it has one: the reply to a
  // submission made again. kConflict when that run was submitted with another pipeline, inputs
  // or directories: the key was given to two different submissions.
  Result<std::optional<std::string>> submitted_before(const protocol::SubmitRun& request);
  // Loads the store's unfinished runs and starts them again; returns how many. Their recorded
  // results are indexed here, and replayed afterwards a bounded number per turn (on_tick), the
  // dispatcher parking meanwhile what workers report of items not submitted again yet
  // (Dispatcher::set_replaying): the broker answers within a turn of starting, whatever the
  // size of its runs.
  Result<size_t> recover(Instant now);
  // While recover() reads recorded item results (and replays the first of them), calls
  // `progress` with a status line after every `every` of them (indexing millions takes a while:
  // the broker tells its supervisor that it is alive and asks for more time to become ready).
  void on_recovery_progress(std::function<void(const std::string& status)> progress,
                            uint64_t every);
  void on_completions(std::vector<Completion> completions, Instant now);
  // Stops a running run (kConflict once it succeeded or failed; a cancelled one is left as it is
  // and the call succeeds, so that a cancel sent again is not an error).
  Status cancel(const std::string& run_id, Instant now);
  // Runs a failed or cancelled run again: recorded successes are kept, failed items run again.
  Status resume(const std::string& run_id, Instant now);
  // Forgets a finished run, in memory and in the store (record, item results, dead letters);
  // returns how many item results went. kConflict while it runs, kNotFound when unknown.
  Result<size_t> delete_run(const std::string& run_id);
  // Steps whose whole-step timeout passed finish as timeouts.
  void on_tick(Instant now);
  // The earliest such deadline of any run; TimePoint::max() when none.
  TimePoint next_deadline() const;

  // Runs that finished since the last call.
  std::vector<std::string> take_finished() { return std::exchange(finished_, {}); }
  // A run held in memory (running, or finished recently).
  const RunRecord* find(const std::string& run_id) const;
  protocol::RunStatus status(const RunRecord& run) const;
  const std::map<std::string, RunRecord>& runs() const { return runs_; }
  // Forgets (from memory; the store keeps them) the oldest finished runs beyond `keep`.
  void forget_finished_beyond(size_t keep);
  size_t running() const;
  const CoordinatorCounters& counters() const { return counters_; }
  RunStore& store() { return store_; }

 private:
  void submit(WorkSpec&& spec) override;
  void abandon(const std::string& item_id) override;
  std::optional<Value> recorded(const std::string& item_id) override;
  bool has_capacity() override;

  // What a stored run needs to start, known to be startable before anything is changed for it.
  struct PreparedRun {
    PipelineContext context;
    RunPaths paths;
  };
  // A newly submitted or resumed run is checked as `pipelinectl validate` checks it; a run the
  // broker recovers was checked when it was accepted, and is not refused by a newer broker's
  // stricter checks after an upgrade (it fails where it must, as it would have).
  enum class Checks { kValidate, kAsAccepted };
  Result<PreparedRun> prepare_run(const StoredRun& stored, Checks checks) const;
  std::string start_run(const StoredRun& stored, PreparedRun prepared, bool replaying, Instant now);
  void settle(RunRecord& run, Instant now);
  void note(const Status& status, std::string_view what);
  // Counts one recorded result read or replayed during recover(); reports every so many.
  void recovery_step(std::string_view run_id, bool replayed);
  // Forgets the recovered runs whose replay is over; the last one ends the dispatcher's parking.
  void end_finished_replays();

  Dispatcher& dispatcher_;
  RunStore& store_;
  RunSettings settings_;
  size_t max_outstanding_items_;
  TimePoint now_{};  // of the call in progress: node destructors abandon items at this time
  std::map<std::string, RunRecord> runs_;
  // The recorded item results of each recovered or resumed run still replaying, by run id: where
  // each one is in the store, read back when its item asks (a million take ~16 MB so).
  std::map<std::string, RecordedResults, std::less<>> memos_;
  std::function<void(const std::string&)> recovery_progress_;
  uint64_t recovery_every_ = 0;
  bool recovering_ = false;  // inside recover()
  std::set<std::string> replaying_;  // recovered runs still replaying recorded results
  uint64_t recovery_read_ = 0;      // of the run being recovered
  uint64_t recovery_replayed_ = 0;
  std::vector<std::string> finished_;
  std::deque<std::string> finished_order_;  // oldest first
  CoordinatorCounters counters_;
};

}  // namespace pl::broker
