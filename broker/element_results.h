// What a loop or a batch keeps of its elements' results for its own step result.
//
// Every entry, by index, while they are few and small enough for a run's result to be answered
// to a client (RunSettings::max_inline_items and max_inline_bytes); beyond, only the first
// failures. Every item result stays in the store either way (`pipelinectl runs export`).
// for_loop, parallel_claude, claude_batch and while_loop all keep their entries here, so that
// they share one limit.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "common/value.h"

namespace pl::broker {

class ElementResults {
 public:
  // How many failures are kept when the entries are not.
  static constexpr size_t kFailuresKept = 100;

  ElementResults(size_t max_items, size_t max_bytes);

  // `count` elements will run (a for_loop's or a batch's, known before the first starts):
  // more than max_items are not kept at all. Not called for a while_loop, which learns its
  // count as it goes.
  void expect(size_t count);
  // Whether entries are still kept: callers spare building what nobody keeps.
  bool keeping() const { return keeping_; }
  // Keeps `entry` as element `index`'s; from the entry that makes them too many or too big on,
  // no entry is kept (those kept are dropped).
  void keep(size_t index, Value entry);
  // Element `index` failed with `error`: kept among the first failures.
  void note_failure(size_t index, const std::string& error);

  // Adds to `out` either `items`, entries 0 to listed-1, where an element with no entry gets
  // `unfinished(index)`; or `items_omitted: true` and `failures: [{index, error}]`.
  void write_to(Value& out, size_t listed, const std::function<Value(size_t)>& unfinished);

 private:
  size_t max_items_;
  size_t max_bytes_;
  bool keeping_ = true;
  std::vector<Value> entries_;  // by index, while keeping_
  size_t bytes_ = 0;            // their packed size
  Value failures_ = Value::array();
};

}  // namespace pl::broker
