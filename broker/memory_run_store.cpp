// RunStore in memory: the same contract without durability, for tests.
#include <algorithm>
#include <map>
#include <unordered_map>

#include "broker/run_store.h"
#include "broker/work_spec.h"
#include "common/protocol/envelope.h"
#include "common/value_digest.h"

namespace pl::broker {
namespace {

class MemoryRunStore final : public RunStore {
 public:
  Status put_run(const StoredRun& run) override {
    purging_.erase(run.id);  // a run put again under a deleted id starts from nothing
    runs_[run.id] = run;
    return ok_status();
  }
  Status finish_run(const std::string& run_id, const std::string& state, const Value& result,
                    const std::string& error, int64_t finished_ms) override {
    auto it = runs_.find(run_id);
    if (it == runs_.end()) return make_error(ErrorCode::kNotFound, "no run " + run_id);
    it->second.state = state;
    it->second.result = result;
    it->second.error = error;
    it->second.finished_ms = finished_ms;
    return ok_status();
  }
  Status reopen_run(const std::string& run_id) override {
    auto it = runs_.find(run_id);
    if (it == runs_.end()) return make_error(ErrorCode::kNotFound, "no run " + run_id);
    it->second.state = "running";
    it->second.result = Value();
    it->second.error.clear();
    it->second.finished_ms = 0;
    return ok_status();
  }
  Result<size_t> delete_run(const std::string& run_id) override {
    if (!runs_.erase(run_id)) return make_error(ErrorCode::kNotFound, "no run " + run_id);
    std::erase_if(dead_, [&](const DeadLetter& d) { return d.run_id == run_id; });
    auto items = items_.find(run_id);
    if (items == items_.end()) return size_t{0};
    const size_t count = items->second.records.size();
    purging_[run_id] = std::move(items->second);
    items_.erase(items);
    return count;
  }
  // Each record stands for a batch here.
  Result<bool> purge_deleted(size_t max_batches) override {
    while (max_batches > 0 && !purging_.empty()) {
      auto& records = purging_.begin()->second.records;
      for (; max_batches > 0 && !records.empty(); --max_batches) records.erase(records.begin());
      if (records.empty()) purging_.erase(purging_.begin());
    }
    return !purging_.empty();
  }
  // A later result of an item replaces its record: one record per item, at its latest place.
  using RunStore::put_item_result;
  Status put_item_result(const std::string& run_id, const std::string& item_id,
                         const Value& result, uint64_t input_digest) override {
    RunItems& run = items_[run_id];
    if (auto known = run.seq_of.find(item_id); known != run.seq_of.end()) {
      run.records.erase(known->second);
    }
    run.seq_of[item_id] = run.next_seq;
    Value stored = result;
    if (input_digest != 0 && stored.is_object()) {
      stored[std::string(kInputDigestKey)] = digest_text(input_digest);
    }
    run.records.emplace(run.next_seq++, std::make_pair(item_id, std::move(stored)));
    return ok_status();
  }
  Status drop_failed_items(const std::string& run_id) override {
    std::erase_if(dead_, [&](const DeadLetter& d) { return d.run_id == run_id; });
    auto run = items_.find(run_id);
    if (run == items_.end()) return ok_status();
    auto& records = run->second.records;
    for (auto it = records.begin(); it != records.end();) {
      if (!it->second.second.get_bool("success")) {
        run->second.seq_of.erase(it->second.first);
        it = records.erase(it);
      } else {
        ++it;
      }
    }
    return ok_status();
  }
  Status put_dead_letter(const DeadLetter& letter) override {
    dead_.push_back(letter);
    return ok_status();
  }
  Status commit() override { return ok_status(); }

  Result<std::vector<StoredRun>> unfinished_runs() override {
    std::vector<StoredRun> out;
    for (const auto& [id, run] : runs_) {
      if (run.state == "running") out.push_back(run);
    }
    return out;
  }
  Result<std::optional<StoredRun>> get_run(const std::string& run_id) override {
    auto it = runs_.find(run_id);
    if (it == runs_.end()) return std::optional<StoredRun>();
    return std::optional<StoredRun>(it->second);
  }
  Result<std::optional<StoredRun>> run_by_idempotency_key(const std::string& key) override {
    if (key.empty()) return std::optional<StoredRun>();  // runs without a key share none
    for (const auto& [id, run] : runs_) {
      if (run.idempotency_key == key) return std::optional<StoredRun>(run);
    }
    return std::optional<StoredRun>();
  }
  Result<std::vector<std::string>> finished_before(int64_t wall_ms, size_t limit) override {
    std::vector<const StoredRun*> old;
    for (const auto& [id, run] : runs_) {
      if (run.state != "running" && run.finished_ms < wall_ms) old.push_back(&run);
    }
    std::sort(old.begin(), old.end(),
              [](const StoredRun* a, const StoredRun* b) { return a->finished_ms < b->finished_ms; });
    std::vector<std::string> ids;
    for (size_t i = 0; i < old.size() && i < limit; ++i) ids.push_back(old[i]->id);
    return ids;
  }
  Result<std::vector<StoredRun>> list_runs(size_t limit, const std::string& state) override {
    std::vector<StoredRun> out;
    for (const auto& [id, run] : runs_) {
      if (state.empty() || run.state == state) out.push_back(run);
    }
    std::sort(out.begin(), out.end(),
              [](const StoredRun& a, const StoredRun& b) { return a.created_ms > b.created_ms; });
    if (out.size() > limit) out.resize(limit);
    return out;
  }
  Result<size_t> item_count(const std::string& run_id) override {
    auto run = items_.find(run_id);
    return run == items_.end() ? 0 : run->second.records.size();
  }
  // The cursor is the seq of the first record not read yet: each record is a batch of its own.
  Result<ItemPage> item_results_page(const std::string& run_id, int64_t cursor,
                                     const ItemPageLimits& limits) override {
    ItemPage page;
    auto run = items_.find(run_id);
    if (run == items_.end()) return page;
    const auto& records = run->second.records;
    for (auto it = records.lower_bound(cursor); it != records.end(); ++it) {
      std::string packed;
      protocol::append_record(packed, it->second.first, it->second.second);
      const bool fits = page.bytes + packed.size() <= limits.max_bytes &&
                        page.records.size() < limits.max_items;
      if (!page.records.empty() && !fits) {
        page.next = it->first;
        return page;
      }
      page.records.push_back(it->second);
      page.bytes += packed.size();
    }
    return page;
  }
  // Each record is a batch of its own, at its seq.
  Status for_each_item_batch(
      const std::string& run_id,
      const std::function<void(int64_t position, std::string_view records)>& visit) override {
    auto run = items_.find(run_id);
    if (run == items_.end()) return ok_status();
    for (const auto& [seq, record] : run->second.records) {
      std::string packed;
      protocol::append_record(packed, record.first, record.second);
      visit(seq, packed);
    }
    return ok_status();
  }
  Result<std::string> item_batch(const std::string& run_id, int64_t position) override {
    auto run = items_.find(run_id);
    auto record = run == items_.end() ? decltype(run->second.records)::const_iterator()
                                      : run->second.records.find(position);
    if (run == items_.end() || record == run->second.records.end()) {
      return make_error(ErrorCode::kNotFound, "no batch " + std::to_string(position) +
                                                  " of item results of " + run_id);
    }
    std::string packed;
    protocol::append_record(packed, record->second.first, record->second.second);
    return packed;
  }
  Result<std::vector<DeadLetter>> dead_letters(const std::string& run_id) override {
    std::vector<DeadLetter> out;
    for (const auto& d : dead_) {
      if (d.run_id == run_id) out.push_back(d);
    }
    return out;
  }

 private:
  std::map<std::string, StoredRun> runs_;
  struct RunItems {
    std::map<int64_t, std::pair<std::string, Value>> records;  // by seq: in record order
    std::unordered_map<std::string, int64_t> seq_of;           // each item's record
    int64_t next_seq = 0;
  };
  std::map<std::string, RunItems> items_;  // by run id
  std::map<std::string, RunItems> purging_;  // of deleted runs, by run id, until purged
  std::vector<DeadLetter> dead_;
};

}  // namespace

std::unique_ptr<RunStore> make_memory_run_store() { return std::make_unique<MemoryRunStore>(); }

}  // namespace pl::broker
