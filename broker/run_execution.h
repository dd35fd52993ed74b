// One run in progress: a tree of nodes (a sequence of steps, a step that is one work item, a
// loop, ...) walked by completions.
//
// Completions never recurse: a node that finishes queues (its id, its result) and
// RunExecution::drain() hands each to the parent in FIFO order. Nodes are looked up by id when
// their turn comes, so a node destroyed meanwhile (its parent finished early) is simply skipped.
// A node is destroyed only by its parent, and a leaf destroyed before its item finished gives
// the item up at the dispatcher.
//
// Templates are bound when a step starts, against the frames of the steps before it.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/run_frame.h"
#include "broker/work_spec.h"
#include "common/clock.h"
#include "common/config/llm_provider.h"
#include "common/pipeline/template.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::broker {

// Where leaves send their work: the dispatcher, or a fake in tests.
class ItemSink {
 public:
  virtual ~ItemSink() = default;
  virtual void submit(WorkSpec&& spec) = 0;
  // The item is no longer wanted: drop it if queued, cancel it if running.
  virtual void abandon(const std::string& item_id) = 0;
  // The item's final result if an earlier life of this run recorded one (the memo that keeps a
  // recovered or resumed run from running a completed item again); nullopt otherwise.
  virtual std::optional<Value> recorded(const std::string& item_id) = 0;
  // Whether more items may be submitted now (the broker's global bound on outstanding items).
  virtual bool has_capacity() = 0;
};

struct RunSettings {
  int64_t default_timeout_ms = 300000;
  uint32_t default_max_parallel = 8;
  // The provider an `llm` step that names none calls (`providers.default_provider`, as the
  // workers read it): its items count against that provider's limits and breaker.
  std::string default_llm_provider = std::string(kDefaultLlmProvider);
  // A loop or batch keeps each element's result in its own result (`items`) up to this many
  // elements, and while they take up to max_inline_bytes (packed); beyond, only counts and the
  // first failures are kept (every item result stays in the store, for `pipelinectl runs
  // export`). The bytes bound keeps a run's result far below what one reply to a client can
  // carry (16 MiB): 10 000 LLM answers of 2 KB would not fit.
  size_t max_inline_items = 10000;
  size_t max_inline_bytes = 4 * 1024 * 1024;
  // A recovered or resumed run replays at most this many recorded results per turn of the
  // broker's loop (about 40 ms), which serves everything else in between; 0: no bound.
  size_t replay_per_turn = 20000;
};

struct RunPaths {
  std::filesystem::path base_dir;       // the pipeline file's directory
  std::filesystem::path workspace_dir;  // absolute
  std::filesystem::path output_dir;     // absolute
};

struct RunProgress {
  uint64_t submitted = 0;  // items handed to the dispatcher
  uint64_t done = 0;       // of those, finished
  uint64_t failed = 0;     // of those, finished unsuccessfully
  uint64_t replayed = 0;   // items finished from the memo, never dispatched
  // Items whose recorded result was for another input (an edited items file, prompt file or
  // earlier result): run again.
  uint64_t inputs_changed = 0;
  // Summed over every item's `usage` (LLM calls): {input_tokens, output_tokens, cost_usd}.
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  double cost_usd = 0;        // over the calls whose price is known
  int64_t unpriced_calls = 0; // results (not model calls) with a null cost_usd: left out of it

  // A run result's `usage`: {input_tokens, output_tokens, cost_usd, unpriced_calls?}; null
  // when no call used any.
  Value usage() const;
};

class RunExecution;

class Node {
 public:
  // `path` is unique in the run and stable across restarts ("s2.i3.s0"); `display` is for
  // people ("loop[3].greet").
  Node(RunExecution& run, Node* parent, std::string path, std::string display);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual void start() = 0;
  // A child finished. Not called after this node finished.
  virtual void child_done(Node& child, Value result);
  // This node's work item finished (leaves only).
  virtual void item_done(Value result);
  // The broker may take more items again (nodes that asked through wait_for_capacity).
  virtual void capacity_available();
  // The deadline this node set (RunExecution::set_deadline) passed: finish as a timeout.
  virtual void deadline_passed();

  Node* parent() const { return parent_; }
  uint64_t id() const { return id_; }
  const std::string& path() const { return path_; }
  const std::string& display() const { return display_; }
  bool done() const { return done_; }

 protected:
  // Finishes this node with `result`; its parent hears of it in turn. Later calls are ignored.
  void finish(Value result);
  RunExecution& run_;

 private:
  Node* parent_;
  uint64_t id_;
  std::string path_;
  std::string display_;
  bool done_ = false;
};

class RunExecution {
 public:
  RunExecution(std::string run_id, PipelineContext context, RunPaths paths, RunSettings settings,
               ItemSink& sink);
  ~RunExecution();

  // Starts the pipeline's steps.
  void start();
  // The dispatcher's final outcome for an item of this run, by the tag submit_item gave it (its
  // WorkSpec::tag); an item whose leaf is gone is ignored.
  void on_item_completed(uint64_t tag, Value result);
  // Stops the run: every node is dropped and every item given up.
  void cancel();
  // Time, as the coordinator tells it at each entry; nodes read it through now().
  void set_now(TimePoint now) { now_ = now; }
  TimePoint now() const { return now_; }
  // Nodes whose deadline passed finish as timeouts; recorded results left to replay are
  // replayed (replay_per_turn more).
  void on_tick(TimePoint now);
  // The earliest deadline a node set; TimePoint::max() when none; TimePoint::min() while
  // recorded results wait to be replayed.
  TimePoint next_deadline() const;
  // Recorded results still wait to be replayed: items that were in flight when the broker
  // stopped may not have been submitted again yet.
  bool replay_pending() const { return !replayed_.empty() && !finished_; }

  bool finished() const { return finished_; }
  // When finished: {success, steps: {name: result}, error?, usage?}.
  const Value& result() const { return result_; }
  const RunProgress& progress() const { return progress_; }
  // The loops and batches running now, and those that finished in the last
  // kFinishedLoopsShownFor (at most kFinishedLoopsShown of them, the latest), so that a watcher
  // polling now and then sees each one's final counts: [{step, done, failed, total, finished?}].
  Value loop_progress() const;
  // Loops and batches report their counts here as they go, and when they finish (their node
  // goes away, whatever the outcome).
  void report_loop(uint64_t node_id, const std::string& step, size_t done, size_t failed, size_t total);
  void loop_finished(uint64_t node_id);
  const std::string& run_id() const { return run_id_; }

  // For nodes.
  uint64_t register_node(Node* node);
  void unregister_node(uint64_t id);
  void node_finished(const Node& node, Value result);
  // Finishes `leaf` from the result recorded for `item_id` in an earlier life of this run (a
  // recovered or resumed run) when there is one for the same input (`input_digest`, of the
  // bound input): true then, and nothing is to be dispatched. A record for another input is
  // counted (inputs_changed) and not used. A record from before digests is used as it is.
  bool replay_recorded(const Node& leaf, const std::string& item_id, uint64_t input_digest);
  void submit_item(const Node& leaf, WorkSpec&& spec);
  void abandon_item(const std::string& item_id);
  bool has_capacity() { return sink_.has_capacity(); }
  // Asks for capacity_available() on `node` once the broker can take items again.
  void wait_for_capacity(const Node& node) { waiting_for_capacity_.push_back(node.id()); }
  bool waiting_for_capacity() const { return !waiting_for_capacity_.empty(); }
  // Wakes the nodes waiting for capacity (those that still exist), in the order they asked.
  void capacity_freed();
  // `node` finishes with a timeout if it is still running at `deadline` (a loop's, a batch's or a
  // nested pipeline's `timeout` bounds everything inside it).
  void set_deadline(const Node& node, TimePoint deadline) { deadlines_.emplace(deadline, node.id()); }
  const RunSettings& settings() const { return settings_; }
  // Parsed templates of this run's step options, kept across iterations.
  pipeline::TemplateCache& templates() { return templates_; }
  const RunPaths& paths() const { return paths_; }
  PipelineContext& context() { return context_; }
  std::string item_id(const Node& node) const {
    std::string id;
    id.reserve(run_id_.size() + 1 + node.path().size());  // one allocation per item, not two
    id.append(run_id_).append(1, '/').append(node.path());
    return id;
  }
  // The `context` a work item carries (protocol/work.h), for a step of `pipeline`.
  std::shared_ptr<const Value> item_context(PipelineContext& pipeline) const;

 private:
  void drain();
  void count_usage(const Value& result);

  std::string run_id_;
  PipelineContext context_;
  RunPaths paths_;
  RunSettings settings_;
  ItemSink& sink_;
  std::unique_ptr<Node> root_;
  std::unordered_map<uint64_t, Node*> nodes_;
  std::deque<std::pair<uint64_t, Value>> completions_;
  std::deque<std::pair<uint64_t, Value>> replayed_;  // leaf id -> memo result, to deliver
  std::vector<uint64_t> waiting_for_capacity_;
  std::multimap<TimePoint, uint64_t> deadlines_;  // node deadlines; stale entries skipped
  TimePoint now_{};
  struct LoopProgress {
    std::string step;
    size_t done = 0, failed = 0, total = 0;
    std::optional<TimePoint> finished_at;
  };
  static constexpr std::chrono::seconds kFinishedLoopsShownFor{10};
  static constexpr size_t kFinishedLoopsShown = 16;
  std::map<uint64_t, LoopProgress> loops_;  // by node id, in start order
  std::deque<uint64_t> finished_loops_;     // those of loops_ that finished, oldest first
  bool draining_ = false;
  bool finished_ = false;
  Value result_;
  RunProgress progress_;
  pipeline::TemplateCache templates_;
};

}  // namespace pl::broker
