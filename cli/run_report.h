// What `pipelinectl run` prints when its run has ended.
#pragma once

#include <ostream>

#include "common/protocol/client.h"

namespace pl::cli {

// Where the run ran: a tree that keeps its state, or a private one that stops with the command
// (and takes the run's state with it).
enum class RunTree { kKept, kPrivate };

// Prints the run's final `status` as JSON on `out`: {run, state, success, steps?, usage?,
// error?, result_omitted_bytes?}. On `err`, a failed run's error; and, when the broker left the
// run's result out of its reply (too large for one; result_omitted_bytes), a warning that the
// steps are missing and how to get them. Returns the exit code: kExitOk when the run
// succeeded, else kExitFailed.
int report_run(const protocol::RunStatus& status, RunTree tree, std::ostream& out,
               std::ostream& err);

}  // namespace pl::cli
