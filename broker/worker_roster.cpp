#include "broker/worker_roster.h"

#include <algorithm>

namespace pl::broker {

HeldAttempts::Map::const_iterator HeldAttempts::find(const std::string& item_id,
                                                     uint32_t attempt) const {
  auto [first, last] = held_.equal_range(item_id);
  for (auto it = first; it != last; ++it) {
    if (it->second == attempt) return it;
  }
  return held_.end();
}

bool HeldAttempts::insert(const std::string& item_id, uint32_t attempt) {
  if (contains(item_id, attempt)) return false;
  held_.emplace(item_id, attempt);
  return true;
}

bool HeldAttempts::erase(const std::string& item_id, uint32_t attempt) {
  auto it = find(item_id, attempt);
  if (it == held_.end()) return false;
  held_.erase(it);
  return true;
}

bool HeldAttempts::contains(const std::string& item_id, uint32_t attempt) const {
  return find(item_id, attempt) != held_.end();
}

uint32_t HeldAttempts::highest(const std::string& item_id) const {
  uint32_t highest = 0;
  auto [first, last] = held_.equal_range(item_id);
  for (auto it = first; it != last; ++it) highest = std::max(highest, it->second);
  return highest;
}

uint32_t WorkerRoster::highest_held_attempt(const std::string& item_id) const {
  uint32_t highest = 0;
  for (const auto& [identity, worker] : workers_) {
    highest = std::max(highest, worker.held.highest(item_id));
  }
  return highest;
}

WorkerRecord& WorkerRoster::join(WorkerRecord record) {
  const std::string identity = record.identity;
  auto& slot = workers_[identity];
  slot = std::move(record);
  credit_returned(identity);
  return slot;
}

std::optional<WorkerRecord> WorkerRoster::leave(std::string_view identity) {
  auto it = workers_.find(identity);
  if (it == workers_.end()) return std::nullopt;
  WorkerRecord record = std::move(it->second);
  workers_.erase(it);
  return record;
}

WorkerRecord* WorkerRoster::find(std::string_view identity) {
  auto it = workers_.find(identity);
  return it == workers_.end() ? nullptr : &it->second;
}

WorkerRecord* WorkerRoster::next_with_credit() {
  // Each worker with credit appears in turn_ once per free slot at most, so this is bounded.
  while (!turn_.empty()) {
    std::string identity = std::move(turn_.front());
    turn_.pop_front();
    WorkerRecord* worker = find(identity);
    if (!worker || worker->free_slots() == 0) continue;
    // Still has credit after this item? Queue it again behind the others.
    if (worker->free_slots() > 1) turn_.push_back(std::move(identity));
    return worker;
  }
  return nullptr;
}

void WorkerRoster::credit_returned(std::string_view identity) {
  const WorkerRecord* worker = find(identity);
  if (!worker || worker->free_slots() == 0) return;
  for (const auto& queued : turn_) {
    if (queued == identity) return;
  }
  turn_.emplace_back(identity);
}

std::vector<WorkerRecord*> WorkerRoster::all() {
  std::vector<WorkerRecord*> out;
  out.reserve(workers_.size());
  for (auto& [identity, worker] : workers_) out.push_back(&worker);
  return out;
}

std::vector<const WorkerRecord*> WorkerRoster::all() const {
  std::vector<const WorkerRecord*> out;
  out.reserve(workers_.size());
  for (const auto& [identity, worker] : workers_) out.push_back(&worker);
  return out;
}

uint32_t WorkerRoster::total_free_slots() const {
  uint32_t total = 0;
  for (const auto& [identity, worker] : workers_) total += worker.free_slots();
  return total;
}

}  // namespace pl::broker
