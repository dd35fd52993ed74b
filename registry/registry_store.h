// The registry's storage seam: the records the core reads and writes, and the transactions it
// groups them in. SqliteStore is the real one (registry.db); tests use an in-memory fake.
//
// Transactions: the shell opens one batch transaction per loop turn (begin ... commit); inside
// it the core wraps each mutation in a savepoint, so that a mutation that fails half-way leaves
// nothing behind while the others of the batch still commit. Nothing is durable before commit()
// returns ok; after a failed commit() the store has rolled back and the whole batch is lost.
//
// Durability: when commit_is_durable(), a committed batch is durable when commit() returns.
// Otherwise commit() only hands the batch to the operating system (it survives the process's
// death, not a power loss) and sync() makes every batch committed before it durable; the shell
// runs sync() on its own thread while it applies the next batch, and replies only after it.
//
// Every call returns an Error (kIo) when the storage itself fails; "not found" is a value.
// Not thread-safe, except sync(): one loop owns the store, one syncing thread may call sync().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/protocol/registry.h"
#include "common/registry/session.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::sqlite {
class Database;
}

namespace pl::registry {

struct ToolRecord {
  std::string name;
  Value definition;  // the canonical form (tool_definition.h to_value)
  int64_t revision = 1;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct SessionRecord {
  std::string name;
  int64_t version = 0;    // number of turns
  int64_t max_turns = 0;  // 0 = no limit
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  TokenUsage usage;  // the sum over the turns
};

struct TurnRecord {
  int64_t index = 0;  // 1-based
  int64_t time_ms = 0;
  std::string messages;  // the list of session messages (session.h shape) as JSON text
  TokenUsage usage;      // the sum over the messages
  std::string origin;    // who appended it (a work item id), "" when not said
};

// A mutation already applied, remembered under its idempotency id with the reply it got.
struct AppliedRecord {
  std::string id;
  std::string op;
  protocol::RegistryReply reply;  // request left empty
  int64_t time_ms = 0;
};

struct StoreCounts {
  int64_t tools = 0;
  int64_t sessions = 0;
  int64_t turns = 0;
  int64_t applied_ids = 0;
};

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;

  // The batch transaction. REQUIRES: begin() is not nested.
  virtual Status begin() = 0;
  virtual Status commit() = 0;
  virtual bool commit_is_durable() const { return true; }
  // Makes every batch committed before the call durable. May run on another thread, concurrently
  // with the loop's other calls.
  virtual Status sync() { return ok_status(); }
  virtual void rollback() = 0;
  // The connection that writes registry.db, for an online backup (sqlite::BackupJob) made
  // between batches; nullptr for a store without a file.
  virtual sqlite::Database* database() { return nullptr; }
  // One mutation inside the batch. REQUIRES: inside begin(); not nested.
  virtual Status savepoint() = 0;
  virtual Status release_savepoint() = 0;
  virtual void rollback_to_savepoint() = 0;

  virtual Result<std::optional<ToolRecord>> tool(std::string_view name) = 0;
  // All tools by name. REQUIRES: limit > 0; at most `limit` of them.
  virtual Result<std::vector<ToolRecord>> tools(size_t limit) = 0;
  virtual Status put_tool(const ToolRecord& tool) = 0;  // insert or replace
  virtual Status remove_tool(std::string_view name) = 0;

  virtual Result<std::optional<SessionRecord>> session(std::string_view name) = 0;
  // Sessions by name, at most `limit`.
  virtual Result<std::vector<SessionRecord>> sessions(size_t limit) = 0;
  virtual Status put_session(const SessionRecord& session) = 0;  // insert or replace
  // Removes the session and all its turns.
  virtual Status remove_session(std::string_view name) = 0;
  // The names of sessions last changed before `before_ms`, at most `limit` (a scan of the
  // sessions: no index is kept on the time, which every append changes).
  virtual Result<std::vector<std::string>> sessions_idle_since(int64_t before_ms, size_t limit) = 0;
  // The session's turns with index > after, ascending, until their messages take more than
  // `max_bytes` (the turn that passes it included, so that the caller sees it passed).
  virtual Result<std::vector<TurnRecord>> turns(std::string_view session, int64_t after,
                                                int64_t max_bytes) = 0;
  // Where the newest turns that fit `max_bytes` start: the smallest index `from` >= after such
  // that the turns with index > from take at most `max_bytes` together (their messages, as
  // stored). Returns the session's last index when even its newest turn is larger.
  virtual Result<int64_t> newest_turns_within(std::string_view session, int64_t after,
                                              int64_t max_bytes) = 0;
  virtual Status add_turn(std::string_view session, const TurnRecord& turn) = 0;
  // Removes the turns with index > keep.
  virtual Status remove_turns_after(std::string_view session, int64_t keep) = 0;

  virtual Result<std::optional<AppliedRecord>> applied(std::string_view id) = 0;
  virtual Status record_applied(const AppliedRecord& record) = 0;
  // Forgets every id recorded before `expire_before_ms`, and all but the newest `keep` ids among
  // those recorded before `protect_since_ms` (younger ids are kept whatever their number, so a
  // client still retrying is always recognised). Returns how many were forgotten.
  virtual Result<int64_t> forget_applied(int64_t keep, int64_t expire_before_ms,
                                         int64_t protect_since_ms) = 0;

  virtual Result<StoreCounts> counts() = 0;
};

}  // namespace pl::registry
