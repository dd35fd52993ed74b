// The recorded item results of a recovered or resumed run, looked up by item id as the run
// replays. Only where each record is stays in memory, 16 bytes a record against ~200 for the
// record itself: a record is read back from the store when its item asks for it, and the last
// few batches read are kept, since a run replays its items in about the order it recorded them.
// Two million results are indexed in ~32 MB instead of held in ~500 MB.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/run_store.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::broker {

class RecordedResults {
 public:
  // Indexes the records of `run_id`, calling `on_record` once for each. A batch that does not
  // parse keeps the records before the bad one, and the last such problem is in problem():
  // the items of the others run again (costly, but never wrong). An error of the store is
  // returned. `store` outlives the result.
  static Result<RecordedResults> index(RunStore& store, std::string run_id,
                                       const std::function<void()>& on_record);

  // The latest record of `item_id`, decoded, the first time it is asked for; nullopt after, and
  // when it has none. A record that can no longer be read gives nullopt with problem() set.
  std::optional<Value> take(std::string_view item_id);

  size_t size() const { return entries_.size(); }
  // The last problem met (indexing or reading back); "" when none.
  const std::string& problem() const { return problem_; }
  void clear_problem() { problem_.clear(); }

 private:
  struct Entry {
    uint64_t hash;    // of the item id
    uint32_t batch;   // index into positions_
    uint32_t offset;  // of the record in its batch
  };
  // The record at `entry`: its item id and, when `with_value`, its value.
  struct Record {
    std::string_view item_id;
    Value value;
  };

  RecordedResults(RunStore& store, std::string run_id) : store_(&store), run_id_(std::move(run_id)) {}
  Result<Record> read(const Entry& entry, bool with_value);
  // The bytes of batch `batch`, from the cache or the store.
  Result<std::string_view> batch_bytes(uint32_t batch);

  RunStore* store_;
  std::string run_id_;
  std::vector<int64_t> positions_;  // each batch's position in the store
  std::vector<Entry> entries_;      // by hash, then in record order
  // Where the entries whose hash starts with each `bits_`-bit prefix begin (one more at the
  // end): a lookup reads a few neighbouring entries instead of searching all of them.
  std::vector<uint32_t> directory_;
  int bits_ = 0;
  std::vector<bool> taken_;         // by entry
  std::deque<std::pair<uint32_t, std::string>> cache_;  // most recently used first
  std::string problem_;
};

}  // namespace pl::broker
