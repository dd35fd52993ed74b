// The node kinds a run is made of (run_execution.h explains how they are driven).
//
//   SequenceNode   runs steps in order in a frame of its own: checks each step's condition,
//                  records its result, applies set_variable and output_to_file, stops at a
//                  failure unless the step says on_error: continue. The top level and every loop
//                  iteration are sequences.
//   LeafNode       one work item: binds its input template, hands the item to the dispatcher,
//                  finishes with the item's result.
//   ParallelNode   what for_loop and the batch steps share: elements from an ItemSource, each
//                  run as a child, at most max_parallel at once and only while the broker has
//                  capacity, results collected by index.
//   ForLoopNode    a ParallelNode whose children are sequences of the loop's body, or, when the
//                  body is one plain leaf step, that leaf alone (the same item ids and results).
//   FanOutNode     a ParallelNode whose children are leaves: parallel_claude tasks and
//                  claude_batch tasks, each one LLM call.
//   WhileLoopNode  iterations of a sequence while a condition holds, at most max_iterations.
//   NestedPipelineNode  a `pipeline` step: a child pipeline file in a frame of its own.
//
// Sequence, leaf and parallel nodes are in step_nodes.cpp; the loops in loop_nodes.cpp; FanOutNode
// in fan_out_node.cpp; NestedPipelineNode in nested_pipeline_node.cpp.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/consolidation.h"
#include "broker/element_results.h"
#include "broker/item_source.h"
#include "broker/run_execution.h"
#include "common/pipeline/model.h"

namespace pl::broker {

class SequenceNode final : public Node {
 public:
  SequenceNode(RunExecution& run, Node* parent, std::string path, std::string display,
               const std::vector<pipeline::Step>& steps, std::unique_ptr<Frame> frame);
  void start() override;
  void child_done(Node& child, Value result) override;
  const Frame& frame() const { return *frame_; }

  // The path and display of the sequence's step at `index`, from the sequence's own.
  // (By value: a caller done with the sequence's own hands it over to be extended in place.)
  static std::string step_path(std::string sequence_path, size_t index);
  static std::string step_display(std::string sequence_display, const pipeline::Step& step);
  // Whether a sequence of `steps` would do nothing around its one step but record its result:
  // a single step that runs as one leaf, with no condition and no effects to apply.
  static const pipeline::Step* lone_leaf(const std::vector<pipeline::Step>& steps);
  // The result a sequence of the lone leaf `step` finishes with, given the leaf's `result`
  // (without its `steps` when `with_steps` is false: for whom only the outcome counts).
  static Value lone_leaf_summary(const pipeline::Step& step, Value result, bool with_steps);

 private:
  void advance();
  // Records a finished step; false when the sequence must stop (a failure with on_error: fail).
  bool record(const pipeline::Step& step, Value result);
  void apply_effects(const pipeline::Step& step, Value& result);

  const std::vector<pipeline::Step>& steps_;
  std::unique_ptr<Frame> frame_;
  size_t next_ = 0;
  std::unique_ptr<Node> current_;
  std::string failure_;  // the first failure that stopped the sequence
};

// What a leaf runs: a step type and an input template bound when the leaf starts.
struct LeafWork {
  std::string step_type;  // canonical ("echo", "claude", ...)
  // The unrendered input: borrowed (the step's own options, which live as long as the run and
  // whose parsed templates the run caches by address), or owned (a batch task's).
  const Value* borrowed_input = nullptr;
  Value owned_input;
  std::optional<int64_t> timeout_ms;
  Value extra_scope;      // an object whose members are visible to the template ({task: ...})

  const Value& input() const { return borrowed_input ? *borrowed_input : owned_input; }
};

class LeafNode final : public Node {
 public:
  // Runs `step` (its retry policy, timeout and name for errors) as one item doing `work`.
  LeafNode(RunExecution& run, Node* parent, std::string path, std::string display,
           const pipeline::Step& step, const Frame& frame, LeafWork work);
  ~LeafNode() override;
  void start() override;
  void item_done(Value result) override;

 private:
  const pipeline::Step& step_;
  const Frame& frame_;
  LeafWork work_;
  bool waiting_ = false;  // for its item, which is given up if this node goes first
};

class ParallelNode : public Node {
 public:
  ~ParallelNode() override;
  void start() override;
  void child_done(Node& child, Value result) override;
  void capacity_available() override;
  void deadline_passed() override;

 protected:
  ParallelNode(RunExecution& run, Node* parent, std::string path, std::string display,
               const pipeline::Step& step, const Frame& frame);

  struct Settings {
    size_t max_parallel = 1;
    bool break_on_error = false;
    size_t max_items = 0;  // 0: all of them; else only the first so many run (max_iterations)
  };
  // An element's node, and the frame it runs in when no node of its own holds one.
  struct Child {
    std::unique_ptr<Frame> frame;  // first: the node borrows it, so it is destroyed last
    std::unique_ptr<Node> node;
  };
  // The elements and how to run them; an error fails the step before anything runs.
  virtual Result<std::unique_ptr<ItemSource>> open_source() = 0;
  virtual Settings settings() = 0;
  virtual Child make_child(size_t index, size_t total, Value element) = 0;
  // The element's result, from what its node finished with.
  virtual Value element_result(Value node_result) { return node_result; }
  // The element's entry in the step result's `items`.
  virtual Value item_value(size_t index, Node& child, Value result) = 0;
  // After an element finished with `result`: whether to stop launching (break_condition).
  virtual Result<bool> should_break(Node& child, const Value& result) {
    (void)child;
    (void)result;
    return false;
  }
  // Adds kind-specific fields to the finished step result (consolidated text, ...).
  virtual void complete_result(Value& result) { (void)result; }
  // The entry of element `index`, started but given up unfinished when the step stopped:
  // {success: false, not_run: true, index}.
  virtual Value unfinished_item(size_t index);
  // Element `index` finished with `entry` (whether or not the result keeps entries).
  virtual void element_finished(size_t index, const Value& entry) {
    (void)index;
    (void)entry;
  }

  // Whether the step result lists every element (`items`); beyond max_inline_items, or once
  // they take more than max_inline_bytes, it does not.
  bool keeps_items() const { return elements_.keeping(); }

  const pipeline::Step& step_;
  const Frame& frame_;

 private:
  void launch();
  void finish_if_done();
  // Element `index` finished with `entry` ({success, error?, ...}): counts, failures, entries.
  void record(size_t index, Value entry);
  // No more elements start; `why` is the result's `stopped` (the first reason given wins).
  void stop_launching(const char* why);

  std::unique_ptr<ItemSource> source_;
  Settings settings_;
  size_t total_ = 0;  // the elements there are
  size_t limit_ = 0;  // of them, those that may start (max_iterations)
  size_t next_ = 0;   // the next to start
  bool stopping_ = false;
  bool timed_out_ = false;    // its own timeout ended it
  const char* stopped_ = "";  // why it stopped launching: break_condition, error
  // An error of the step itself, not of an element: its break_condition could not be
  // evaluated, or its elements could not be read. It fails the step without counting as a
  // failed element.
  std::string step_error_;
  size_t succeeded_ = 0;
  size_t failed_ = 0;
  ElementResults elements_;
  struct Running {
    size_t index;  // of its element
    Child child;
  };
  std::unordered_map<const Node*, Running> running_;  // the children running now
  std::string first_failure_;
};

class ForLoopNode final : public ParallelNode {
 public:
  ForLoopNode(RunExecution& run, Node* parent, std::string path, std::string display,
              const pipeline::Step& step, const Frame& frame);

 private:
  Result<std::unique_ptr<ItemSource>> open_source() override;
  Settings settings() override;
  Child make_child(size_t index, size_t total, Value element) override;
  Value element_result(Value node_result) override;
  Value item_value(size_t index, Node& child, Value result) override;
  Result<bool> should_break(Node& child, const Value& result) override;

  std::string iterator_;
  const Value* break_condition_;  // in the step's options, which outlive the node; or null
  // The body's one step when an iteration can run as that leaf alone, without a sequence node
  // around it (most loops over many items); nullptr otherwise.
  const pipeline::Step* lone_leaf_ = nullptr;
};

class FanOutNode final : public ParallelNode {
 public:
  FanOutNode(RunExecution& run, Node* parent, std::string path, std::string display,
             const pipeline::Step& step, const Frame& frame);

 private:
  Result<std::unique_ptr<ItemSource>> open_source() override;
  Settings settings() override;
  Child make_child(size_t index, size_t total, Value element) override;
  Value item_value(size_t index, Node& child, Value result) override;
  void complete_result(Value& result) override;
  Value unfinished_item(size_t index) override;
  void element_finished(size_t index, const Value& entry) override;

  std::map<size_t, Value> tasks_;  // the task of each running child, for its result
  // consolidate_results: built as tasks finish, not from `items` at the end (which a large
  // batch does not keep).
  std::unique_ptr<Consolidation> consolidation_;
};

class WhileLoopNode final : public Node {
 public:
  WhileLoopNode(RunExecution& run, Node* parent, std::string path, std::string display,
                const pipeline::Step& step, const Frame& frame);
  void start() override;
  void child_done(Node& child, Value result) override;
  void deadline_passed() override;

 private:
  void next_iteration();
  void finish_with(bool success, std::string stopped, std::string error);

  const pipeline::Step& step_;
  const Frame& frame_;
  int64_t max_iterations_ = 1;
  bool break_on_error_ = true;  // false: a failed iteration is counted and the loop goes on
  int64_t iteration_ = 0;
  int64_t failed_ = 0;
  std::string first_failure_;
  ElementResults elements_;  // under the same limits as a for_loop's
  // The step results and loop-scoped state of the iteration before: what the condition reads as
  // `steps.NAME` and `state.NAME` (as in pipeline_ex, where a body step's result is there for
  // the check that follows it).
  Frame last_;
  std::unique_ptr<SequenceNode> current_;
};

// A `pipeline` step: another pipeline (a file, or inline) run as a child with its own inputs,
// steps and state, its outputs mapped back. Refuses to nest deeper than config.max_depth and
// refuses a file that is already running above it (a cycle).
class NestedPipelineNode final : public Node {
 public:
  NestedPipelineNode(RunExecution& run, Node* parent, std::string path, std::string display,
                     const pipeline::Step& step, const Frame& frame);
  void start() override;
  void child_done(Node& child, Value result) override;
  void deadline_passed() override;

 private:
  Result<std::unique_ptr<PipelineContext>> load_child();

  const pipeline::Step& step_;
  const Frame& frame_;
  std::unique_ptr<PipelineContext> child_context_;
  std::unique_ptr<SequenceNode> child_;
  int64_t timeout_ms_ = 0;
};

// The node that runs `step` in `frame`.
std::unique_ptr<Node> make_step_node(RunExecution& run, Node* parent, std::string path,
                                     std::string display, const pipeline::Step& step,
                                     const Frame& frame);

}  // namespace pl::broker
