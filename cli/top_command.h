// pipelinectl top: the tree and its broker, live. Every refresh (1 s by default) asks the
// supervisor for `status` and the broker for broker_status, each with a deadline, and shows:
// the children (state, pid, uptime, restarts, RSS), workers, queue depths, items in flight,
// throughput (from the change of the broker's counters between frames), item latency
// percentiles, provider circuit states.
//
//   pipelinectl top [--once] [--json] [--for SECONDS] [--frames N] [--interval MS]
//
// On a terminal it redraws one screen (alternate screen, cursor hidden, restored on exit) and
// ends on q, Ctrl-C, when --for has passed or after --frames frames; elsewhere it prints frames
// one after another.
// --once prints one frame and exits (no throughput: that needs two). --json prints each frame
// as one JSON object per line: {time_ms, state_dir, supervisor, supervisor_error?, broker,
// broker_error?, rates}. Exit codes: 0; 69 when no supervisor answers for the first frame.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "common/value.h"

namespace CLI {
class App;
}

namespace pl::cli {

struct CliContext;

void add_top_command(CLI::App& app, CliContext& context, int& exit_code);

// One frame's data: `supervisor` (status or null), `broker` (broker_status or null), their
// errors, and `rates` computed against `previous` (null on the first frame).
Value top_frame(std::optional<Value> supervisor, std::string supervisor_error,
                std::optional<Value> broker, std::string broker_error, const Value& previous,
                int64_t time_ms, const std::string& state_dir);
// The frame as text for people, lines cut at `width` columns.
std::string render_top(const Value& frame, size_t width);

}  // namespace pl::cli
