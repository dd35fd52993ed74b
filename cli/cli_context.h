// What every pipelinectl subcommand shares: the global options and how to reach a tree.
#pragma once

#include <filesystem>
#include <string>

namespace pl::cli {

// Exit codes of pipelinectl (documented in docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // the run (or the action asked for) failed
inline constexpr int kExitUsage = 2;        // bad arguments or bad input file
inline constexpr int kExitUnavailable = 69; // no tree answers on the state directory
inline constexpr int kExitInternal = 70;
inline constexpr int kExitTempFail = 75;    // timed out; trying again may work

struct CliContext {
  std::string state_dir_flag;  // --state-dir
  std::string config_flag;     // --config: read supervisor.state_dir from it
  bool json = false;           // --json: machine-readable output

  // --state-dir, else PIPELINE_STATE_DIR, else the config's state_dir, else ./var.
  std::filesystem::path state_dir() const;
};

}  // namespace pl::cli
