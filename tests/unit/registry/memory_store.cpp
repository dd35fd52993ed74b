#include "tests/unit/registry/memory_store.h"

#include <algorithm>

namespace pl::registry::test {

Status MemoryStore::write_check() {
  if (writes_before_failure == 0) return make_error(ErrorCode::kIo, "disk full (simulated)");
  if (writes_before_failure > 0) --writes_before_failure;
  if (writes_before_one_failure == 0) {
    writes_before_one_failure = -1;
    return make_error(ErrorCode::kIo, "a write failed (simulated)");
  }
  if (writes_before_one_failure > 0) --writes_before_one_failure;
  return ok_status();
}

Status MemoryStore::begin() {
  batch_start_ = state_;
  return ok_status();
}

Status MemoryStore::commit() {
  batch_start_.reset();
  ++commits_;
  return ok_status();
}

void MemoryStore::rollback() {
  if (batch_start_) state_ = std::move(*batch_start_);
  batch_start_.reset();
}

Status MemoryStore::savepoint() {
  ++savepoints_;
  savepoint_ = state_;
  return ok_status();
}

Status MemoryStore::release_savepoint() {
  savepoint_.reset();
  return ok_status();
}

void MemoryStore::rollback_to_savepoint() {
  if (savepoint_) state_ = std::move(*savepoint_);
  savepoint_.reset();
}

Result<std::optional<ToolRecord>> MemoryStore::tool(std::string_view name) {
  auto it = state_.tools.find(name);
  if (it == state_.tools.end()) return std::optional<ToolRecord>();
  return std::optional<ToolRecord>(it->second);
}

Result<std::vector<ToolRecord>> MemoryStore::tools(size_t limit) {
  std::vector<ToolRecord> out;
  for (const auto& [_, t] : state_.tools) {
    if (out.size() == limit) break;
    out.push_back(t);
  }
  return out;
}

Status MemoryStore::put_tool(const ToolRecord& tool) {
  if (auto st = write_check(); !st.ok()) return st;
  state_.tools[tool.name] = tool;
  return ok_status();
}

Status MemoryStore::remove_tool(std::string_view name) {
  if (auto st = write_check(); !st.ok()) return st;
  if (auto it = state_.tools.find(name); it != state_.tools.end()) state_.tools.erase(it);
  return ok_status();
}

Result<std::optional<SessionRecord>> MemoryStore::session(std::string_view name) {
  auto it = state_.sessions.find(name);
  if (it == state_.sessions.end()) return std::optional<SessionRecord>();
  return std::optional<SessionRecord>(it->second);
}

Result<std::vector<SessionRecord>> MemoryStore::sessions(size_t limit) {
  std::vector<SessionRecord> out;
  for (const auto& [_, s] : state_.sessions) {
    if (out.size() == limit) break;
    out.push_back(s);
  }
  return out;
}

Status MemoryStore::put_session(const SessionRecord& session) {
  if (auto st = write_check(); !st.ok()) return st;
  state_.sessions[session.name] = session;
  return ok_status();
}

Result<std::vector<std::string>> MemoryStore::sessions_idle_since(int64_t before_ms, size_t limit) {
  std::vector<std::string> out;
  for (const auto& [name, s] : state_.sessions) {
    if (out.size() == limit) break;
    if (s.updated_ms < before_ms) out.push_back(name);
  }
  return out;
}

Status MemoryStore::remove_session(std::string_view name) {
  if (auto st = write_check(); !st.ok()) return st;
  if (auto it = state_.sessions.find(name); it != state_.sessions.end()) state_.sessions.erase(it);
  return remove_turns_after(name, 0);
}

Result<std::vector<TurnRecord>> MemoryStore::turns(std::string_view session, int64_t after,
                                                   int64_t max_bytes) {
  std::vector<TurnRecord> out;
  int64_t bytes = 0;
  for (const auto& [key, t] : state_.turns) {
    if (key.first != session || key.second <= after) continue;
    out.push_back(t);
    bytes += static_cast<int64_t>(t.messages.size());
    if (bytes > max_bytes) break;
  }
  return out;
}

Result<int64_t> MemoryStore::newest_turns_within(std::string_view session, int64_t after,
                                                 int64_t max_bytes) {
  int64_t bytes = 0;
  for (auto it = state_.turns.rbegin(); it != state_.turns.rend(); ++it) {
    if (it->first.first != session || it->first.second <= after) continue;
    bytes += static_cast<int64_t>(it->second.messages.size());
    if (bytes > max_bytes) return it->first.second;
  }
  return after;
}

Status MemoryStore::add_turn(std::string_view session, const TurnRecord& turn) {
  if (auto st = write_check(); !st.ok()) return st;
  auto [_, inserted] = state_.turns.emplace(std::pair{std::string(session), turn.index}, turn);
  if (!inserted) return make_error(ErrorCode::kIo, "UNIQUE constraint failed: turns.session, turns.idx");
  return ok_status();
}

Status MemoryStore::remove_turns_after(std::string_view session, int64_t keep) {
  if (auto st = write_check(); !st.ok()) return st;
  std::erase_if(state_.turns, [&](const auto& e) { return e.first.first == session && e.first.second > keep; });
  return ok_status();
}

Result<std::optional<AppliedRecord>> MemoryStore::applied(std::string_view id) {
  for (const auto& [_, r] : state_.applied) {
    if (r.id == id) return std::optional<AppliedRecord>(r);
  }
  return std::optional<AppliedRecord>();
}

Status MemoryStore::record_applied(const AppliedRecord& record) {
  if (auto st = write_check(); !st.ok()) return st;
  state_.applied[state_.next_seq++] = record;
  return ok_status();
}

Result<int64_t> MemoryStore::forget_applied(int64_t keep, int64_t expire_before_ms,
                                            int64_t protect_since_ms) {
  const auto total = static_cast<int64_t>(state_.applied.size());
  int64_t position = 0;
  int64_t forgotten = 0;
  std::erase_if(state_.applied, [&](const auto& e) {
    const bool beyond_count = total - position++ > keep;
    const bool forget = e.second.time_ms < expire_before_ms ||
                        (beyond_count && e.second.time_ms < protect_since_ms);
    forgotten += forget;
    return forget;
  });
  return forgotten;
}

Result<StoreCounts> MemoryStore::counts() {
  return StoreCounts{static_cast<int64_t>(state_.tools.size()), static_cast<int64_t>(state_.sessions.size()),
                     static_cast<int64_t>(state_.turns.size()), static_cast<int64_t>(state_.applied.size())};
}

}  // namespace pl::registry::test
