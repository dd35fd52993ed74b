#include "cli/run_report.h"

#include "cli/cli_context.h"
#include "common/json.h"

namespace pl::cli {
namespace {

void warn_result_omitted(const protocol::RunStatus& status, int64_t bytes, RunTree tree,
                         std::ostream& err) {
  err << "pipelinectl: warning: run " << status.run_id << "'s result takes " << bytes
      << " bytes, more than one reply carries: the broker left it out, so its steps are not "
         "shown above";
  if (tree == RunTree::kPrivate) {
    err << "; this run had a private tree, whose state is gone with it: start a tree that "
           "keeps its state (docs/getting-started.md), run the pipeline on it, and write the "
           "run with every item result with `pipelinectl runs export RUN`\n";
  } else {
    err << "; `pipelinectl runs export " << status.run_id
        << "` writes the run with every item result\n";
  }
}

}  // namespace

int report_run(const protocol::RunStatus& status, RunTree tree, std::ostream& out,
               std::ostream& err) {
  Value shown;
  shown["run"] = status.run_id;
  shown["state"] = status.state;
  shown["success"] = status.state == "succeeded";
  if (const Value* steps = status.result.find("steps")) shown["steps"] = *steps;
  if (const Value* usage = status.result.find("usage")) shown["usage"] = *usage;
  if (!status.error.empty()) shown["error"] = status.error;
  const Value* omitted = status.result.find("result_omitted_bytes");
  if (omitted) shown["result_omitted_bytes"] = *omitted;
  out << to_json(shown, JsonStyle::kPretty) << std::endl;
  if (omitted) {
    warn_result_omitted(status, status.result.get_int("result_omitted_bytes"), tree, err);
  }
  if (status.state == "succeeded") return kExitOk;
  // A cancelled run's error is "cancelled": said once.
  const bool says_more = !status.error.empty() && status.error != status.state;
  err << "pipelinectl: run " << status.run_id << " " << status.state
      << (says_more ? ": " + status.error : "") << "\n";
  return kExitFailed;
}

}  // namespace pl::cli
