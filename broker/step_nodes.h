// The node kinds a run is made of (run_execution.h explains how they are driven).
//
//   SequenceNode  runs steps in order in a frame of its own: checks each step's condition,
//                 records its result, applies set_variable and output_to_file, stops at a failure
//                 unless the step says on_error: continue. The top level and every loop
//                 iteration are sequences.
//   LeafNode      a step that is one work item: binds its templates, hands the item to the
//                 dispatcher, finishes with the item's result.
//   ForLoopNode   iterations of a sequence over a list, up to max_parallel at once.
//   WhileLoopNode iterations of a sequence while a condition holds, at most max_iterations.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

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

 private:
  void advance();
  // Records a finished step; false when the sequence must stop (a failure with on_error: fail).
  bool record(const pipeline::Step& step, Value result);
  void apply_effects(const pipeline::Step& step, Value& result);
  std::string child_display(const pipeline::Step& step) const;

  const std::vector<pipeline::Step>& steps_;
  std::unique_ptr<Frame> frame_;
  size_t next_ = 0;
  std::unique_ptr<Node> current_;
  std::string failure_;  // the first failure that stopped the sequence
};

class LeafNode final : public Node {
 public:
  LeafNode(RunExecution& run, Node* parent, std::string path, std::string display,
           const pipeline::Step& step, const Frame& frame);
  ~LeafNode() override;
  void start() override;
  void item_done(Value result) override;

 private:
  const pipeline::Step& step_;
  const Frame& frame_;
  std::string item_id_;
  bool waiting_ = false;
};

class ForLoopNode final : public Node {
 public:
  ForLoopNode(RunExecution& run, Node* parent, std::string path, std::string display,
              const pipeline::Step& step, const Frame& frame);
  void start() override;
  void child_done(Node& child, Value result) override;

 private:
  Result<Value> resolve_items();
  void launch();
  void finish_if_done();

  const pipeline::Step& step_;
  const Frame& frame_;
  Value items_;
  std::string iterator_;
  size_t total_ = 0;
  size_t next_ = 0;
  size_t max_parallel_ = 1;
  bool break_on_error_ = false;
  bool stopping_ = false;
  size_t succeeded_ = 0;
  size_t failed_ = 0;
  std::vector<Value> results_;
  std::map<size_t, std::unique_ptr<SequenceNode>> active_;  // by iteration index
  std::string first_failure_;
};

class WhileLoopNode final : public Node {
 public:
  WhileLoopNode(RunExecution& run, Node* parent, std::string path, std::string display,
                const pipeline::Step& step, const Frame& frame);
  void start() override;
  void child_done(Node& child, Value result) override;

 private:
  void next_iteration();

  const pipeline::Step& step_;
  const Frame& frame_;
  int64_t max_iterations_ = 1;
  int64_t iteration_ = 0;
  std::vector<Value> results_;
  std::unique_ptr<SequenceNode> current_;
};

// The node that runs `step` in `frame`.
std::unique_ptr<Node> make_step_node(RunExecution& run, Node* parent, std::string path,
                                     std::string display, const pipeline::Step& step,
                                     const Frame& frame);

}  // namespace pl::broker
