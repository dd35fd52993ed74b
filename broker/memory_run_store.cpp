// RunStore in memory: the same contract without durability, for tests.
#include <algorithm>
#include <map>

#include "broker/run_store.h"

namespace pl::broker {
namespace {

class MemoryRunStore final : public RunStore {
 public:
  Status put_run(const StoredRun& run) override {
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
  Status put_item_result(const std::string& run_id, const std::string& item_id,
                         const Value& result) override {
    items_[item_id] = {run_id, result};
    return ok_status();
  }
  Status drop_failed_items(const std::string& run_id) override {
    for (auto it = items_.begin(); it != items_.end();) {
      if (it->second.first == run_id && !it->second.second.get_bool("success")) {
        it = items_.erase(it);
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
  Result<std::vector<StoredRun>> list_runs(size_t limit) override {
    std::vector<StoredRun> out;
    for (const auto& [id, run] : runs_) out.push_back(run);
    std::sort(out.begin(), out.end(),
              [](const StoredRun& a, const StoredRun& b) { return a.created_ms > b.created_ms; });
    if (out.size() > limit) out.resize(limit);
    return out;
  }
  Result<size_t> item_count(const std::string& run_id) override {
    size_t n = 0;
    for (const auto& [id, item] : items_) n += item.first == run_id ? 1 : 0;
    return n;
  }
  Result<std::vector<std::pair<std::string, Value>>> item_results(
      const std::string& run_id) override {
    std::vector<std::pair<std::string, Value>> out;
    for (const auto& [id, item] : items_) {
      if (item.first == run_id) out.emplace_back(id, item.second);
    }
    return out;
  }
  Status for_each_item_result(
      const std::string& run_id,
      const std::function<void(std::string item_id, Value result)>& visit) override {
    for (const auto& [id, item] : items_) {
      if (item.first == run_id) visit(id, item.second);
    }
    return ok_status();
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
  std::map<std::string, std::pair<std::string, Value>> items_;
  std::vector<DeadLetter> dead_;
};

}  // namespace

std::unique_ptr<RunStore> make_memory_run_store() { return std::make_unique<MemoryRunStore>(); }

}  // namespace pl::broker
