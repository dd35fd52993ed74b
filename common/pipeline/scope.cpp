#include "common/pipeline/scope.h"

#include <algorithm>

namespace pl::pipeline {

bool is_reserved_root(std::string_view name) {
  return std::find(kReservedRoots.begin(), kReservedRoots.end(), name) != kReservedRoots.end();
}

const Value* ValueScope::root(std::string_view name) const {
  if (const Value* member = object_.find(name)) return member;
  if (is_reserved_root(name)) return nullptr;
  const Value* steps = object_.find(kRootSteps);
  return steps ? steps->find(name) : nullptr;
}

bool ValueScope::names_step(std::string_view name) const {
  return !object_.find(name) && !is_reserved_root(name);
}

const Value* ItemScope::root(std::string_view name) const {
  if (name == "item") return &item_;
  if (const Value* member = item_.find(name)) return member;
  return outer_.root(name);
}

bool ItemScope::names_step(std::string_view name) const {
  if (name == "item" || item_.find(name)) return false;
  return outer_.names_step(name);
}

Value make_loop_frame(std::string_view iterator, Value item, int64_t index, int64_t total,
                      const Value* parent) {
  // Built once per iteration: the fixed keys go in already sorted, each a hinted insert at the
  // end. An iterator named like one of them loses to it, and `parent` wins over the iterator.
  Value::Object frame;
  frame.emplace_hint(frame.end(), "first", index == 0);
  frame.emplace_hint(frame.end(), "index", index);
  frame.emplace_hint(frame.end(), "is_first", index == 0);
  frame.emplace_hint(frame.end(), "is_last", index + 1 == total);
  frame.emplace_hint(frame.end(), "last", index + 1 == total);
  frame.emplace_hint(frame.end(), "length", total);
  frame.emplace_hint(frame.end(), "total", total);
  frame.emplace(std::string(iterator), std::move(item));
  if (parent) frame.insert_or_assign("parent", *parent);
  return Value(std::move(frame));
}

Value make_while_frame(int64_t index, const Value* parent) {
  Value frame = Value::object();
  frame["index"] = index;
  frame["first"] = index == 0;
  frame["is_first"] = index == 0;
  if (parent) frame["parent"] = *parent;
  return frame;
}

}  // namespace pl::pipeline
