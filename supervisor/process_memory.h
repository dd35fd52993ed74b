// Reading how much memory a process holds: its resident set (VmRSS in /proc/PID/status).
//
// A reading that fails is an Error saying why (no such process, a zombie has no VmRSS, the file
// cannot be read); it is never a zero, so that nothing downstream mistakes "unknown" for "small".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/result.h"

namespace pl::supervisor {

// VmRSS of a /proc/PID/status text, in bytes; nullopt when the line is missing or unreadable.
std::optional<uint64_t> parse_status_rss(std::string_view status_text);

// The resident set of `pid`, in bytes. kNotFound when the process is gone, kIo otherwise.
Result<uint64_t> read_rss_bytes(pid_t pid);

}  // namespace pl::supervisor
