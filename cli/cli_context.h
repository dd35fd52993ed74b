// What every pipelinectl subcommand shares: the global options and how to reach a tree.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace pl::cli {

// Exit codes of pipelinectl (documented in docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // the run (or the action asked for) failed
inline constexpr int kExitUsage = 2;        // bad arguments or bad input file
inline constexpr int kExitUnavailable = 69; // no tree answers on the state directory
inline constexpr int kExitInternal = 70;
inline constexpr int kExitTempFail = 75;    // timed out; trying again may work

// The exit code of a command that ends with an error of this code, the same for every command:
// what is not there (a run, session, tool, child, file) is bad input like a malformed one (2);
// a refusal of what exists (a conflict, a limit) is a failure (1).
int exit_code_for(ErrorCode code);

struct CliContext {
  std::string state_dir_flag;  // --state-dir
  std::string config_flag;     // --config: read supervisor.state_dir from it
  std::string config_state_dir;  // what --config names ("" when it names none)
  bool json = false;             // --json: machine-readable output

  // Reads --config's supervisor.state_dir into config_state_dir, when the option is parsed: a
  // file that does not load is an error then, not a silent fall-back to another tree. Returns
  // the error ("file:line:column: error: ..."), or "" when the file is fine.
  std::string read_config(const std::string& file);

  // --state-dir, else PIPELINE_STATE_DIR, else the config's state_dir, else ./var.
  std::filesystem::path state_dir() const;
};

}  // namespace pl::cli
