// What templates and conditions see while a run executes: frames of step results, chained from
// the innermost loop iteration out to the pipeline, and the FrameScope that resolves names
// through them.
#pragma once

#include <memory>
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
  Value loop;                         // the loop frame value of this iteration; null elsewhere
  Value local_state = Value::object();  // set_variable with scope: loop

  // The innermost loop value visible from here (nullptr outside loops).
  const Value* innermost_loop() const;
};

// Resolves the roots of the format (pipeline/scope.h) through a chain of frames. Views that
// combine several frames ("steps", "state") are built on first use and kept for the scope's
// lifetime: make a FrameScope per evaluation, not per run.
class FrameScope final : public pipeline::Scope {
 public:
  explicit FrameScope(const Frame& frame) : frame_(frame) {}
  const Value* root(std::string_view name) const override;

 private:
  const Frame& frame_;
  mutable std::unique_ptr<Value> steps_view_;
  mutable std::unique_ptr<Value> state_view_;
};

}  // namespace pl::broker
