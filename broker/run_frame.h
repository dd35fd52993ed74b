// What templates and conditions see while a run executes: frames of step results, chained from
// the innermost loop iteration out to the pipeline, and the FrameScope that resolves names
// through them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <filesystem>

#include "common/pipeline/model.h"
#include "common/pipeline/scope.h"
#include "common/value.h"

namespace pl::broker {

// One pipeline's data during a run: the top-level pipeline, or a nested one.
struct PipelineContext {
  std::shared_ptr<const pipeline::Pipeline> pipeline;
  Value inputs = Value::object();
  Value state = Value::object();  // set_variable with scope: global
  Value global_vars;              // null: the pipeline's own (an inheriting child's are merged)
  std::filesystem::path base_dir; // where its relative paths start: its file's directory
  std::vector<std::string> files;  // the pipeline files from the run's top down to this one
  int64_t max_depth = 10;           // the strictest config.max_depth on the way down
  // The `context` its work items carry, made once (RunExecution::item_context).
  std::shared_ptr<const Value> item_context;
};

// The results of one sequence of steps: the pipeline's top level, or one loop iteration.
struct Frame {
  const Frame* outer = nullptr;       // the enclosing frame; nullptr at the top
  PipelineContext* context = nullptr;
  Value results = Value::object();    // step name -> result, for the steps of this sequence
  Value local_state = Value::object();  // set_variable with scope: loop

  // This frame is a for_loop iteration: its variables are kept as they are, and its `loop`
  // value (pipeline::make_loop_frame) is built only when something reads it whole. `iterator`
  // is the loop's own, which outlives the frame.
  void set_iteration(std::string_view iterator, Value item, int64_t index, int64_t total);
  // This frame has the `loop` value `loop` (a while_loop iteration's, or a copy of another's).
  void set_loop(Value loop) { loop_ = std::move(loop); }
  // This frame's own `loop` value (nullptr when it has none), built on first use.
  const Value* own_loop() const;
  // The innermost loop value visible from here (nullptr outside loops).
  const Value* innermost_loop() const;
  // innermost_loop()->find(name), without building a for_loop iteration's value when `name` is
  // one of its variables: what `loop.NAME` reads once per item. The pointer is valid only until
  // this frame's loop value is built (own_loop(), innermost_loop() from here or from a frame
  // inside): building moves the item into it.
  const Value* loop_member(std::string_view name) const;

 private:
  struct Iteration {
    std::string_view iterator;
    Value item;
    Value index;
    Value total;
  };
  // The variables of a for_loop iteration whose loop_ is not built yet.
  const Value* iteration_member(std::string_view name) const;

  mutable std::optional<Iteration> iteration_;  // until loop_ is built from it
  mutable Value loop_;                          // null: none, or not built yet
};

// Resolves the roots of the format (pipeline/scope.h) through a chain of frames. Views that
// combine several frames ("steps", "state") are built on first use and kept for the scope's
// lifetime: make a FrameScope per evaluation, not per run.
class FrameScope final : public pipeline::Scope {
 public:
  explicit FrameScope(const Frame& frame) : frame_(frame) {}
  const Value* root(std::string_view name) const override;
  const Value* member(std::string_view root, std::string_view name) const override;

 private:
  const Frame& frame_;
  mutable std::unique_ptr<Value> steps_view_;
  mutable std::unique_ptr<Value> state_view_;
};

}  // namespace pl::broker
