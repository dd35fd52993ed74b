#include "broker/run_frame.h"

#include <vector>

namespace pl::broker {

const Value* Frame::innermost_loop() const {
  for (const Frame* f = this; f; f = f->outer) {
    if (!f->loop.is_null()) return &f->loop;
  }
  return nullptr;
}

const Value* FrameScope::root(std::string_view name) const {
  const PipelineContext* context = frame_.context;
  if (name == pipeline::kRootInputs) return context ? &context->inputs : nullptr;
  if (name == pipeline::kRootGlobalVars) {
    if (!context) return nullptr;
    if (!context->global_vars.is_null()) return &context->global_vars;
    return context->pipeline ? &context->pipeline->global_vars : nullptr;
  }
  if (name == pipeline::kRootLoop) return frame_.innermost_loop();
  if (name == pipeline::kRootState) {
    if (!state_view_) {
      // Global state, overlaid by loop-scoped variables from the outermost frame inwards.
      state_view_ = std::make_unique<Value>(context ? context->state : Value::object());
      std::vector<const Frame*> chain;
      for (const Frame* f = &frame_; f && f->context == context; f = f->outer) chain.push_back(f);
      for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        for (const auto& [k, v] : (*it)->local_state.as_object()) (*state_view_)[k] = v;
      }
    }
    return state_view_.get();
  }
  if (name == pipeline::kRootSteps) {
    if (!steps_view_) {
      // Outer results first, inner ones over them: the nearest step of a name wins. A nested
      // pipeline sees only its own steps.
      steps_view_ = std::make_unique<Value>(Value::object());
      std::vector<const Frame*> chain;
      for (const Frame* f = &frame_; f && f->context == context; f = f->outer) chain.push_back(f);
      for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        for (const auto& [k, v] : (*it)->results.as_object()) (*steps_view_)[k] = v;
      }
    }
    return steps_view_.get();
  }
  // A bare step name: the nearest frame that has it.
  for (const Frame* f = &frame_; f && f->context == context; f = f->outer) {
    if (const Value* result = f->results.find(name)) return result;
  }
  return nullptr;
}

}  // namespace pl::broker
