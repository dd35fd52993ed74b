// Exit codes of pipeline-supervisor (documented in docs/supervisor.md).
#pragma once

namespace pl::supervisor {

inline constexpr int kExitClean = 0;     // shut down on request (SIGTERM, `shutdown`) or auto_shutdown
inline constexpr int kExitGaveUp = 1;    // the root gave up (intensity exceeded) or failed to start
inline constexpr int kExitUsage = 2;     // bad usage, bad config, unusable state dir, or the
                                         // state dir is locked by another supervisor
inline constexpr int kExitInternal = 70; // a bug or the OS refused something essential

}  // namespace pl::supervisor
