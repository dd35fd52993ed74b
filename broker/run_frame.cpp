#include "broker/run_frame.h"

#include <vector>

namespace pl::broker {

void Frame::set_iteration(std::string_view iterator, Value item, int64_t index, int64_t total) {
  iteration_ = Iteration{iterator, std::move(item), Value(index), Value(total)};
  loop_ = Value();
}

const Value* Frame::own_loop() const {
  if (iteration_) {
    Iteration& it = *iteration_;
    loop_ = pipeline::make_loop_frame(it.iterator, std::move(it.item), it.index.as_int(),
                                      it.total.as_int(), outer ? outer->innermost_loop() : nullptr);
    iteration_.reset();
  }
  return loop_.is_null() ? nullptr : &loop_;
}

const Value* Frame::innermost_loop() const {
  for (const Frame* f = this; f; f = f->outer) {
    if (const Value* loop = f->own_loop()) return loop;
  }
  return nullptr;
}

const Value* Frame::loop_member(std::string_view name) const {
  for (const Frame* f = this; f; f = f->outer) {
    if (f->iteration_) return f->iteration_member(name);
    if (!f->loop_.is_null()) return f->loop_.find(name);
  }
  return nullptr;
}

const Value* Frame::iteration_member(std::string_view name) const {
  // What make_loop_frame would hold under `name`, read from the variables themselves.
  static const Value kTrue(true);
  static const Value kFalse(false);
  const Iteration& it = *iteration_;
  const int64_t index = it.index.as_int();
  if (name == "index") return &it.index;
  if (name == "total" || name == "length") return &it.total;
  if (name == "first" || name == "is_first") return index == 0 ? &kTrue : &kFalse;
  if (name == "last" || name == "is_last") return index + 1 == it.total.as_int() ? &kTrue : &kFalse;
  if (name == "parent") return outer ? outer->innermost_loop() : nullptr;
  if (name == it.iterator) return &it.item;
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

const Value* FrameScope::member(std::string_view root, std::string_view name) const {
  if (root == pipeline::kRootLoop) return frame_.loop_member(name);
  return Scope::member(root, name);
}

}  // namespace pl::broker
