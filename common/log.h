// Process-wide logging setup. Code logs through spdlog's default logger (spdlog::info(...)).
#pragma once

#include <string_view>

namespace pl {

// Sets up the default logger for a process called `process_name`, writing to stderr.
// Under our supervisor (PIPELINE_CHILD_NAME set) or journald (JOURNAL_STREAM set) lines carry
// no timestamp and no name, since the collector adds both. The level comes from
// PIPELINE_LOG_LEVEL when set, else `level` (trace, debug, info, warn, error).
void init_logging(std::string_view process_name, std::string_view level = "info");

}  // namespace pl
