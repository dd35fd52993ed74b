// What the step node files share (step_nodes.cpp, loop_nodes.cpp, fan_out_node.cpp,
// nested_pipeline_node.cpp): failure results that say where, whole-step deadlines, and the scope
// of a batch task. Not for other users.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "broker/run_execution.h"
#include "common/pipeline/model.h"
#include "common/pipeline/scope.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::broker {

// A whole-step deadline (RunExecution::set_deadline), from the step's `timeout`, when it has one.
void set_step_deadline(RunExecution& run, const Node& node, std::optional<int64_t> timeout_ms);

// {success: false, error, error_code}.
Value failure_result(std::string message, ErrorCode code = ErrorCode::kInvalidInput);

// "step \"greet\" (hello.yaml:12:7): what" — where a pipeline author should look.
std::string at_step(const pipeline::Step& step, std::string_view what);

// The result of a step whose `timeout` passed.
Value timeout_result(const pipeline::Step& step, int64_t timeout_ms);

// A frame's scope with a few extra roots in front ({task: ...} for batch tasks).
class OverlayScope final : public pipeline::Scope {
 public:
  OverlayScope(const Value& overlay, const pipeline::Scope& under)
      : overlay_(overlay), under_(under) {}
  const Value* root(std::string_view name) const override {
    if (const Value* v = overlay_.find(name)) return v;
    return under_.root(name);
  }
  const Value* member(std::string_view root, std::string_view name) const override {
    if (overlay_.find(root)) return Scope::member(root, name);
    return under_.member(root, name);
  }
  // An overlay root (a task's own fields) is not a step: its `data` is not read through.
  bool names_step(std::string_view name) const override {
    return !overlay_.find(name) && under_.names_step(name);
  }

 private:
  const Value& overlay_;
  const pipeline::Scope& under_;
};

}  // namespace pl::broker
