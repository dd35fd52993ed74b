// The workers the broker knows, with their credit: a worker is never sent more items than the
// slots it announced, counting items it still holds (including attempts the broker has given up
// on but the worker has not yet let go of).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"

namespace pl::broker {

struct WorkerRecord {
  std::string identity;  // ROUTER routing id
  std::string name;
  int64_t pid = 0;
  std::string host;
  uint32_t slots = 1;
  std::unordered_set<std::string> held;  // item ids sent and not yet answered
  TimePoint last_heard{};
  TimePoint next_heartbeat{};
  TimePoint joined{};
  uint64_t items_done = 0;

  uint32_t free_slots() const {
    return held.size() >= slots ? 0 : slots - static_cast<uint32_t>(held.size());
  }
};

class WorkerRoster {
 public:
  // Adds or replaces the worker at `identity`; returns it.
  WorkerRecord& join(WorkerRecord record);
  // Removes and returns the worker (with what it held); nullopt if unknown.
  std::optional<WorkerRecord> leave(std::string_view identity);

  WorkerRecord* find(std::string_view identity);
  // The identity of the worker with process id `pid` on this host (host "" matches any).
  std::optional<std::string> find_by_pid(int64_t pid) const;

  // A worker with free credit, chosen round-robin; nullptr when none has any.
  WorkerRecord* next_with_credit();
  // Tells the roster that `identity` may have credit again (after a result or a join).
  void credit_returned(std::string_view identity);

  std::vector<WorkerRecord*> all();
  std::vector<const WorkerRecord*> all() const;
  size_t size() const { return workers_.size(); }
  uint32_t total_free_slots() const;

 private:
  std::map<std::string, WorkerRecord, std::less<>> workers_;
  // Identities that may have credit, in turn order; stale entries are skipped lazily.
  std::deque<std::string> turn_;
};

}  // namespace pl::broker
