// The sessions seam: named conversations kept in the registry, read and extended by
// claude_session steps and read by session_context prompt parts.
//
// Appends are optimistic: the writer says which version it read, and an append to a session
// that changed since is refused (kConflict), so two steps that talk to one session at once can
// never interleave their turns unnoticed. The registry-backed implementation is wired after the
// registry lands (see unwired_registry.h); tests use an in-memory fake.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "worker/providers/provider.h"

namespace pl::worker::llm {

struct SessionTurn {
  std::string role;  // "user" or "assistant"
  std::string content;
};

struct SessionSnapshot {
  std::vector<SessionTurn> turns;  // oldest first: the last `last_n` asked for
  int64_t version = 0;             // 0 for a session that does not exist yet
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // The last `last_n` turns (0: all) of session `name` and its version. A session that does not
  // exist yet reads as empty at version 0. kUnavailable when the store cannot be reached.
  virtual Result<SessionSnapshot> load(const std::string& name, size_t last_n,
                                       const providers::CallContext& call) = 0;

  // Appends `turns` to session `name` (creating it at version 0) if its version is still
  // `expected_version`, durably, and returns the new version. kConflict when the session changed
  // since; nothing is written then. Thread-safe.
  virtual Result<int64_t> append(const std::string& name, const std::vector<SessionTurn>& turns,
                                 int64_t expected_version, const providers::CallContext& call) = 0;
};

}  // namespace pl::worker::llm
