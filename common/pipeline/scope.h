// Scope: the names that templates and conditions can read.
//
// A reference such as `steps.fetch.data[0]` starts with a root name ("steps") that the Scope
// resolves to a Value; the rest of the path is walked through that Value. The roots of the
// format are:
//   inputs       the run's bound inputs (loader.h: bind_inputs)
//   steps        an object: step name -> that step's result
//   global_vars  the pipeline's global_vars
//   state        variables set by set_variable steps
//   loop         the innermost loop frame (make_loop_frame, make_while_frame), with `parent`
// and a bare step name, which resolves like steps.NAME. Under either, a step result's `data`
// members read as the result's own when it has no member of that name (expression.h).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "common/value.h"

namespace pl::pipeline {

inline constexpr std::string_view kRootInputs = "inputs";
inline constexpr std::string_view kRootSteps = "steps";
inline constexpr std::string_view kRootGlobalVars = "global_vars";
inline constexpr std::string_view kRootState = "state";
inline constexpr std::string_view kRootLoop = "loop";
inline constexpr std::array<std::string_view, 5> kReservedRoots{
    kRootInputs, kRootSteps, kRootGlobalVars, kRootState, kRootLoop};

// Whether a name is one of the reserved roots (and so cannot name a step).
bool is_reserved_root(std::string_view name);

class Scope {
 public:
  virtual ~Scope() = default;
  // The value that a reference's first segment names: "inputs", "steps", "global_vars", "state",
  // "loop", or a bare step name (which resolves like steps.NAME); nullptr when nothing has that
  // name. The pointer stays valid as long as the scope and what it views are unchanged, and
  // only until the next call of root() or member(): a scope may build a view when a name is
  // first read, and moving data into it invalidates what it handed out before.
  virtual const Value* root(std::string_view name) const = 0;
  // root(root)'s member `name` (nullptr when either is missing, or the root is not a map). A
  // scope may answer without building the whole root: `loop.NAME` is read once per item.
  virtual const Value* member(std::string_view root, std::string_view name) const {
    const Value* whole = this->root(root);
    return whole ? whole->find(name) : nullptr;
  }
  // Whether root(name) would be a step's result (a bare step name): its `data` members then
  // read as its own. By default every name but the reserved roots, as root() describes; a
  // scope with roots of its own (an item's fields) says which are not steps.
  virtual bool names_step(std::string_view name) const { return !is_reserved_root(name); }
};

// A Scope over one object whose members are the roots; a name that is not a member falls back
// to the member of `steps` of that name. The object is borrowed: it must outlive the scope.
class ValueScope final : public Scope {
 public:
  explicit ValueScope(const Value& object) : object_(object) {}
  const Value* root(std::string_view name) const override;
  bool names_step(std::string_view name) const override;

 private:
  const Value& object_;
};

// A Scope that shows `item` (and, when item is an object, each of its members) in front of
// another scope: what the predicate of any/all/count and a data_transform filter read.
// Both are borrowed.
class ItemScope final : public Scope {
 public:
  ItemScope(const Value& item, const Scope& outer) : item_(item), outer_(outer) {}
  const Value* root(std::string_view name) const override;
  bool names_step(std::string_view name) const override;

 private:
  const Value& item_;
  const Scope& outer_;
};

// The `loop` value for one iteration of a for_loop: {ITERATOR: item, index (0-based), total,
// first, last, parent?} plus pipeline_ex's spellings is_first, is_last and length. `parent` is
// the enclosing loop's frame when `parent` is not null.
// REQUIRES: iterator is not one of the frame's own field names (the loader checks this).
Value make_loop_frame(std::string_view iterator, Value item, int64_t index, int64_t total,
                      const Value* parent);

// The `loop` value for one iteration of a while_loop: {index (0-based), first, is_first,
// parent?}.
Value make_while_frame(int64_t index, const Value* parent);

// Field names a loop frame defines itself, which an iterator may not use.
inline constexpr std::array<std::string_view, 8> kLoopFrameFields{
    "index", "total", "first", "last", "parent", "is_first", "is_last", "length"};

}  // namespace pl::pipeline
