#include "broker/worker_roster.h"

namespace pl::broker {

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

std::optional<std::string> WorkerRoster::find_by_pid(int64_t pid) const {
  for (const auto& [identity, worker] : workers_) {
    if (worker.pid == pid) return identity;
  }
  return std::nullopt;
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
