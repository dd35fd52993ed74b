// An in-memory RegistryStore for core tests: same contract as SqliteStore, nothing on disk.
// Transactions and savepoints are snapshots. Fault switches, to test what the core does when
// storage fails half-way: after `writes_before_failure` more writes succeed, every write fails
// with kIo (-1 = never); after `writes_before_one_failure` more writes succeed, the next one
// fails and those after it succeed again (-1 = never).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "registry/registry_store.h"

namespace pl::registry::test {

class MemoryStore : public RegistryStore {
 public:
  int writes_before_failure = -1;
  int writes_before_one_failure = -1;

  Status begin() override;
  Status commit() override;
  void rollback() override;
  Status savepoint() override;
  Status release_savepoint() override;
  void rollback_to_savepoint() override;

  Result<std::optional<ToolRecord>> tool(std::string_view name) override;
  Result<std::vector<ToolRecord>> tools(size_t limit) override;
  Status put_tool(const ToolRecord& tool) override;
  Status remove_tool(std::string_view name) override;

  Result<std::optional<SessionRecord>> session(std::string_view name) override;
  Result<std::vector<SessionRecord>> sessions(size_t limit) override;
  Status put_session(const SessionRecord& session) override;
  Status remove_session(std::string_view name) override;
  Result<std::vector<std::string>> sessions_idle_since(int64_t before_ms, size_t limit) override;
  Result<std::vector<TurnRecord>> turns(std::string_view session, int64_t after,
                                        int64_t max_bytes) override;
  Status add_turn(std::string_view session, const TurnRecord& turn) override;
  Result<int64_t> newest_turns_within(std::string_view session, int64_t after,
                                      int64_t max_bytes) override;
  Status remove_turns_after(std::string_view session, int64_t keep) override;

  Result<std::optional<AppliedRecord>> applied(std::string_view id) override;
  Status record_applied(const AppliedRecord& record) override;
  Result<int64_t> forget_applied(int64_t keep, int64_t expire_before_ms,
                                 int64_t protect_since_ms) override;
  Result<StoreCounts> counts() override;

  int commits() const { return commits_; }
  int savepoints() const { return savepoints_; }  // opened so far

 private:
  struct State {
    std::map<std::string, ToolRecord, std::less<>> tools;
    std::map<std::string, SessionRecord, std::less<>> sessions;
    std::map<std::pair<std::string, int64_t>, TurnRecord> turns;
    std::map<int64_t, AppliedRecord> applied;  // by sequence number
    int64_t next_seq = 1;
  };
  Status write_check();

  State state_;
  std::optional<State> batch_start_;
  std::optional<State> savepoint_;
  int commits_ = 0;
  int savepoints_ = 0;
};

}  // namespace pl::registry::test
