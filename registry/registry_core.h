// The registry's pure core: one request in, one reply out, over a RegistryStore.
//
// Mutations (tool.register/update/remove, session.create/append/truncate/delete) must carry an
// idempotency id. The first time an id is seen the mutation is applied, so that a failure leaves
// nothing of it behind (inside a savepoint; see handle_batch for a batch), and its reply is
// recorded under the id in the same transaction; a request whose id was already
// applied gets the recorded reply again and changes nothing (a retry after a lost reply, or after
// a registry crash). Replies with a 4xx code are recorded too, since the same request would fail
// the same way; storage failures (kIo) are not, so a retry tries again.
//
// Nothing is durable until the caller commits the batch transaction the request ran in: the
// shell sends no reply before that commit.
//
// The core reads no clock and makes no system call: `now_ms` comes from the shell.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "common/protocol/registry.h"
#include "common/result.h"
#include "registry/registry_store.h"

namespace pl::registry {

struct RegistryLimits {
  int64_t max_tool_bytes = 256 * 1024;      // a definition, as JSON
  int64_t max_turn_bytes = 1024 * 1024;     // one turn's messages, as JSON
  int64_t max_session_turns = 100'000;      // whatever a session's own max_turns says
  int64_t max_reply_bytes = 8 * 1024 * 1024;  // session.get refuses more (ask for last_turns)
  int64_t max_list = 10'000;                // entries a list returns
  // Idempotency ids: each is remembered for at least min_applied_age_ms (longer than any
  // client's retry deadline), then while it is among the newest keep_applied_ids, and never
  // longer than applied_ttl_ms.
  int64_t keep_applied_ids = 100'000;
  int64_t min_applied_age_ms = 60'000;
  int64_t applied_ttl_ms = 24LL * 3600 * 1000;
  // Sessions nobody changed for this long are deleted, at most kIdleSessionsPerPass a pass of
  // maintenance; 0 (the default): kept until deleted by name.
  int64_t keep_idle_sessions_ms = 0;
};

struct RegistryCounters {
  uint64_t requests = 0;
  uint64_t mutations = 0;  // applied, first time
  uint64_t replays = 0;    // answered from the idempotency record
  uint64_t errors = 0;     // replies with ok: false
  uint64_t batches = 0;
  uint64_t bad_frames = 0;
  uint64_t failed_commits = 0;
};

class RegistryCore {
 public:
  // `store` outlives the core.
  RegistryCore(RegistryStore& store, RegistryLimits limits);

  // REQUIRES: inside the store's batch transaction. The reply echoes request.request.
  protocol::RegistryReply handle(const protocol::RegistryRequest& request, int64_t now_ms);

  // The replies handle() would give to `requests` one after the other, in their order. The
  // mutations first run without a savepoint each (a savepoint copies every page its mutation
  // changes: about a fifth of what an append costs). Should one of them fail, nothing can take
  // back what it wrote but the whole transaction: the store rolls back, begins again, and the
  // batch is handled anew with a savepoint around each mutation, so that the failed one leaves
  // nothing behind while the others stand.
  // REQUIRES: inside the store's batch transaction; on success, inside it still. The error when
  // the transaction could not begin again (it is then rolled back).
  Result<std::vector<protocol::RegistryReply>> handle_batch(
      const std::vector<const protocol::RegistryRequest*>& requests, int64_t now_ms);

  // Forgets idempotency ids past the limits. REQUIRES: inside a batch transaction.
  Result<int64_t> forget_old_ids(int64_t now_ms);
  // Deletes sessions idle for longer than limits().keep_idle_sessions_ms, at most
  // kIdleSessionsPerPass of them (a pass is one transaction, kept short for the requests that
  // wait behind it); how many.
  static constexpr size_t kIdleSessionsPerPass = 100;
  Result<int64_t> forget_idle_sessions(int64_t now_ms);

  // Shell-side events that `status` reports.
  void note_batch() { ++counters_.batches; }
  void note_bad_frame() { ++counters_.bad_frames; }
  void note_failed_commit() { ++counters_.failed_commits; }
  const RegistryCounters& counters() const { return counters_; }
  const RegistryLimits& limits() const { return limits_; }

 private:
  protocol::RegistryReply mutate(protocol::RegistryOp op, const protocol::RegistryRequest& request,
                                 int64_t now_ms);
  Result<Value> apply(protocol::RegistryOp op, const Value& args, int64_t now_ms);
  Result<Value> status();

  RegistryStore& store_;
  RegistryLimits limits_;
  RegistryCounters counters_;
  bool savepoints_ = true;                 // false in handle_batch's first pass
  bool failed_without_savepoint_ = false;  // that pass must be done again
};

}  // namespace pl::registry
