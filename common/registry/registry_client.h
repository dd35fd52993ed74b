// The registry's client: typed calls over the registry protocol (common/protocol/registry.h),
// for the broker, the workers and pipelinectl.
//
// Every call has a deadline. An attempt that gets no reply within `attempt_timeout` (or cannot be
// sent, or gets a reply with a retryable code such as 301 unavailable) is retried after a short
// backoff, on a fresh connection, until `max_attempts` or the call's `deadline` is reached. All
// attempts of one mutation carry the same idempotency id, so the registry applies it once even
// when a reply was lost: a registry restart costs latency, not correctness.
//
// Errors: a reply's error as sent (404 not found, 409 conflict, 400 invalid input, 413 a limit);
// kUnavailable when no attempt got a reply ("no reply from ipc://... after 5 attempts in
// 15000 ms: ..."), which pipelinectl reports as "no registry answers"; kRetryLater when the
// last one got a retryable refusal ("the registry at ... refused 5 attempt(s) ...: database or
// disk is full"): it is there, and cannot serve for now.
//
// Thread-safe: calls from many threads run concurrently, each on its own connection taken from
// a small pool. zmq and msgpack stay out of this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/net/zmq_socket.h"
#include "common/protocol/registry.h"
#include "common/registry/session.h"
#include "common/registry/tool_definition.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::net {
class Context;
}

namespace pl {

struct RegistryClientOptions {
  std::string endpoint;  // "ipc://.../registry.sock" or "tcp://host:port"
  std::chrono::milliseconds attempt_timeout{2000};
  std::chrono::milliseconds deadline{15000};  // per call, all attempts included
  int max_attempts = 10;
  std::chrono::milliseconds backoff_base{20};  // doubled per attempt, with jitter ...
  std::chrono::milliseconds backoff_max{500};  // ... up to this
  net::Context* context = nullptr;             // a shared ZeroMQ context; nullptr = own one
  std::optional<net::CurveClientKeys> curve;   // required for a tcp:// endpoint
};

// What else bounds one call, for a caller working for an item: the item's deadline (the call
// ends with kTimeout there, whatever time the client's own deadline would still allow) and its
// cancellation (asked before each attempt and every 50 ms while waiting: kCancelled). A
// mutation cut short may still be applied by the registry; its idempotency id makes a later
// retry of the same request harmless.
struct CallLimit {
  std::optional<TimePoint> deadline;
  std::function<bool()> cancelled;  // empty: cannot be cancelled
};

// A stored tool: its definition and bookkeeping.
struct StoredToolInfo {
  ToolDefinition definition;
  int64_t revision = 0;  // 1 when registered, +1 per update
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct ToolSummary {
  std::string name;
  std::string description;
  int64_t revision = 0;
  int64_t updated_ms = 0;
};

class RegistryClient {
 public:
  // REQUIRES: options.endpoint is not empty. Connects lazily, on the first call.
  explicit RegistryClient(RegistryClientOptions options);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // Any op by name, for callers that pass Values through (pipelinectl). `id` is the idempotency
  // id of a mutation; "" = a fresh one. Returns the reply's result.
  Result<Value> call(protocol::RegistryOp op, Value args, std::string id = {},
                     const CallLimit& limit = {});

  Status ping();
  Result<Value> status();
  // Starts an online copy of registry.db into `dir` (absolute, on the registry's host), or with
  // "" asks how the copy goes: {state: idle | copying | done | failed, path, pages_copied,
  // pages_total, bytes, elapsed_ms, error?}.
  Result<Value> backup(const std::string& dir);

  // tool.register; with `replace`, an existing tool of that name is updated instead of being a
  // conflict. Returns the revision stored.
  Result<int64_t> register_tool(const ToolDefinition& definition, bool replace = false);
  // tool.update; kNotFound when missing, kConflict when expected_revision (if > 0) differs.
  Result<int64_t> update_tool(const ToolDefinition& definition, int64_t expected_revision = 0);
  Result<StoredToolInfo> get_tool(const std::string& name, const CallLimit& limit = {});
  Result<std::vector<ToolSummary>> list_tools();
  Status remove_tool(const std::string& name);

  // session.create; kConflict when it exists, unless exist_ok (then the existing one).
  Result<SessionInfo> create_session(const std::string& name, int64_t max_turns = 0,
                                     bool exist_ok = false);
  // session.get: the whole session, or only its last `last_turns` turns when > 0.
  Result<Session> get_session(const std::string& name, int64_t last_turns = 0,
                              const CallLimit& limit = {});
  // session.get with a byte budget: the newest of the last `last_turns` turns (0: any number)
  // whose messages take at most `max_bytes` together, oldest dropped; possibly none.
  Result<Session> get_recent_turns(const std::string& name, int64_t last_turns,
                                   int64_t max_bytes, const CallLimit& limit = {});
  // The whole session however large, as it was at the first page, handed over one page at a
  // time (session.get with after_turn; each page fits the registry's reply limit), so that the
  // caller holds one page at most. `page` gets the session's info as of the first page (the
  // same each time) and the page's turns; turns appended meanwhile are left out. kConflict when
  // the session was truncated or deleted and created again meanwhile (the pages would mix two
  // histories); an error `page` returns ends the reading and is returned.
  using SessionPage =
      std::function<Status(const SessionInfo& info, std::vector<SessionTurn>& turns)>;
  Status read_session_pages(const std::string& name, const SessionPage& page);
  // session.status's `limits`: {max_turn_bytes, max_reply_bytes, max_session_turns, ...}; an
  // empty map from a registry that does not report them.
  Result<Value> limits(const CallLimit& limit = {});
  Result<std::vector<SessionInfo>> list_sessions(int64_t limit = 0);
  // session.append: returns the new version. kConflict when the version is not the expected one
  // (the message names both), kTooLarge when max_turns is reached, kNotFound when the session
  // does not exist and !create.
  Result<int64_t> append_turn(const TurnAppend& turn, const CallLimit& limit = {});
  // session.truncate: keeps the first `keep_turns` turns; returns the new version.
  Result<int64_t> truncate_session(const std::string& name, int64_t keep_turns,
                                   int64_t expected_version = -1);
  Status delete_session(const std::string& name);

  const std::string& endpoint() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pl
