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
#include <utility>
#include <vector>

#include "common/clock.h"

namespace pl::broker {

// The attempts a worker was sent and has not answered. Two attempts of one item can be held at
// once (a cancelled attempt the worker has not let go of yet, and its retry): each takes a slot,
// and an answer frees the slot of its own attempt only.
class HeldAttempts {
 public:
  using Map = std::unordered_multimap<std::string, uint32_t>;  // item id -> attempt

  // False when that attempt is held already.
  bool insert(const std::string& item_id, uint32_t attempt);
  // insert() without the look-up, for an attempt that cannot be held yet (a dispatch's attempt
  // number is new).
  void add_new(const std::string& item_id, uint32_t attempt) { held_.emplace(item_id, attempt); }
  bool erase(const std::string& item_id, uint32_t attempt);
  bool contains(const std::string& item_id, uint32_t attempt) const;
  // The highest attempt of `item_id` held; 0 when none is.
  uint32_t highest(const std::string& item_id) const;

  size_t size() const { return held_.size(); }
  bool empty() const { return held_.empty(); }
  Map::const_iterator begin() const { return held_.begin(); }
  Map::const_iterator end() const { return held_.end(); }

 private:
  Map::const_iterator find(const std::string& item_id, uint32_t attempt) const;

  Map held_;
};

struct WorkerRecord {
  std::string identity;  // ROUTER routing id
  std::string name;
  int64_t pid = 0;
  std::string host;
  uint32_t slots = 1;
  HeldAttempts held;  // sent and not yet answered
  // Slots the worker's last heartbeat (or a refusal) showed taken beyond what it holds here:
  // attempts this broker process does not count (sent by its predecessor, or over a connection
  // the worker has left). Kept off its credit until a later heartbeat shows them free, so that
  // items are not sent to a full worker only to be refused.
  uint32_t untracked = 0;
  // The same process said hello under another identity: this connection of it is gone. It
  // takes no new items (slots 0) and ages out; what it still holds then was lost in transit.
  bool superseded = false;
  TimePoint last_heard{};
  TimePoint next_heartbeat{};
  TimePoint joined{};
  uint64_t items_done = 0;

  // Another connection of the same worker process (it reconnected under a new identity).
  bool same_process_as(const WorkerRecord& other) const {
    return name == other.name && pid == other.pid && host == other.host;
  }

  // Sets `untracked` from the free slots the worker says it has (0 when it refused an item).
  void reported_free(uint32_t free) {
    const uint32_t busy = free >= slots ? 0 : slots - free;
    const auto held_here = static_cast<uint32_t>(held.size());
    untracked = busy > held_here ? busy - held_here : 0;
  }

  uint32_t free_slots() const {
    const size_t taken = held.size() + untracked;
    return taken >= slots ? 0 : slots - static_cast<uint32_t>(taken);
  }
};

class WorkerRoster {
 public:
  // Adds or replaces the worker at `identity`; returns it.
  WorkerRecord& join(WorkerRecord record);
  // Removes and returns the worker (with what it held); nullopt if unknown.
  std::optional<WorkerRecord> leave(std::string_view identity);

  WorkerRecord* find(std::string_view identity);

  // A worker with free credit, chosen round-robin; nullptr when none has any.
  WorkerRecord* next_with_credit();
  // Tells the roster that `identity` may have credit again (after a result or a join).
  void credit_returned(std::string_view identity);

  std::vector<WorkerRecord*> all();
  std::vector<const WorkerRecord*> all() const;
  // The highest attempt of `item_id` any worker holds; 0 when none does.
  uint32_t highest_held_attempt(const std::string& item_id) const;
  size_t size() const { return workers_.size(); }
  uint32_t total_free_slots() const;

 private:
  std::map<std::string, WorkerRecord, std::less<>> workers_;
  // Identities that may have credit, in turn order; stale entries are skipped lazily.
  std::deque<std::string> turn_;
};

}  // namespace pl::broker
