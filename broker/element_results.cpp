#include "broker/element_results.h"

#include "common/protocol/envelope.h"

namespace pl::broker {

ElementResults::ElementResults(size_t max_items, size_t max_bytes)
    : max_items_(max_items), max_bytes_(max_bytes) {}

void ElementResults::expect(size_t count) {
  if (count > max_items_) {
    keeping_ = false;
    return;
  }
  entries_.resize(count);
}

void ElementResults::keep(size_t index, Value entry) {
  if (!keeping_) return;
  bytes_ += protocol::packed_size(entry);
  if (index >= max_items_ || bytes_ > max_bytes_) {
    keeping_ = false;
    std::vector<Value>().swap(entries_);
    return;
  }
  if (index >= entries_.size()) entries_.resize(index + 1);
  entries_[index] = std::move(entry);
}

void ElementResults::note_failure(size_t index, const std::string& error) {
  if (failures_.size() >= kFailuresKept) return;
  Value f;
  f["index"] = static_cast<int64_t>(index);
  f["error"] = error;
  failures_.push_back(std::move(f));
}

void ElementResults::write_to(Value& out, size_t listed,
                              const std::function<Value(size_t)>& unfinished) {
  if (!keeping_) {
    out["items_omitted"] = true;  // every item result is in the store: pipelinectl runs export
    out["failures"] = std::move(failures_);
    return;
  }
  Value::Array items;
  items.reserve(listed);
  for (size_t i = 0; i < listed; ++i) {
    const bool has = i < entries_.size() && !entries_[i].is_null();
    items.push_back(has ? std::move(entries_[i]) : unfinished(i));
  }
  out["items"] = Value(std::move(items));
}

}  // namespace pl::broker
