// The sessions seam: named conversations kept in the registry, read and extended by
// claude_session steps and read by session_context prompt parts.
//
// Appends are optimistic: the writer says which version it read, and an append to a session
// that changed since is refused (kConflict), so two steps that talk to one session at once can
// never interleave their turns unnoticed. The worker uses the registry-backed implementation
// (registry_tools.h); tests use an in-memory fake with the same checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/registry/session.h"
#include "common/result.h"
#include "worker/providers/provider.h"

namespace pl::worker::llm {

// Which turns of a session to read: the newest `last_turns` (0: all) whose messages take at most
// `max_bytes` together (0: no bound), oldest dropped first.
struct HistoryWindow {
  size_t last_turns = 0;
  size_t max_bytes = 0;
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // Session `name`: its info and the turns of `window`, oldest first (possibly none, when even
  // the newest turn is over max_bytes). kNotFound when the session does not exist (a
  // claude_session step starts it; a session_context part names a session that must exist);
  // kUnavailable when the store cannot be reached.
  virtual Result<Session> load(const std::string& name, const HistoryWindow& window,
                               const providers::CallContext& call) = 0;

  // Appends one turn if the session is still at `turn.expected_version` and under its turn
  // limits, durably, and returns the new version. kConflict when the session changed since,
  // kTooLarge when a limit is reached; nothing is written then. Thread-safe.
  virtual Result<int64_t> append(const TurnAppend& turn, const providers::CallContext& call) = 0;

  // The most bytes one turn's messages may take as JSON (the registry's max_turn_bytes), so
  // that a step can refuse a prompt before paying for an answer that could not be saved. 0 when
  // the store does not say (no check is made then; the append still refuses).
  virtual Result<int64_t> max_turn_bytes(const providers::CallContext& call) = 0;
};

}  // namespace pl::worker::llm
