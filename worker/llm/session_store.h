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

#include "common/registry/session.h"
#include "common/result.h"
#include "worker/providers/provider.h"

namespace pl::worker::llm {

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // Session `name`: its info and its last `last_turns` turns (0: all), oldest first. A session
  // that does not exist yet reads as version 0 without turns. kUnavailable when the store
  // cannot be reached.
  virtual Result<Session> load(const std::string& name, size_t last_turns,
                               const providers::CallContext& call) = 0;

  // Appends one turn if the session is still at `turn.expected_version` and under its turn
  // limits, durably, and returns the new version. kConflict when the session changed since,
  // kTooLarge when a limit is reached; nothing is written then. Thread-safe.
  virtual Result<int64_t> append(const TurnAppend& turn, const providers::CallContext& call) = 0;
};

}  // namespace pl::worker::llm
