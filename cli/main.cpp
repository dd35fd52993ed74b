// pipelinectl: the one command-line client of a Pipeline tree.
#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/admin_commands.h"
#include "cli/backup_commands.h"
#include "cli/cli_context.h"
#include "cli/keys_command.h"
#include "cli/registry_commands.h"
#include "cli/run_command.h"
#include "cli/runs_commands.h"
#include "common/open_file_limit.h"

namespace {

// CLI11 answers "A subcommand is required" to a command it does not know ("pipelinectl bogus",
// "runs bogus"): name the word and the commands there are instead.
std::optional<std::string> unknown_command(CLI::App& app, const CLI::ParseError& e) {
  if (e.get_name() != "RequiredError") return std::nullopt;
  CLI::App* at = &app;
  while (!at->get_subcommands().empty()) at = at->get_subcommands().front();
  // A word a command does not take falls through to pipelinectl's own options (fallthrough).
  const std::vector<std::string> rest = at->remaining().empty() ? app.remaining() : at->remaining();
  if (rest.empty() || at->get_subcommands({}).empty()) return std::nullopt;
  std::string known;
  for (const CLI::App* command : at->get_subcommands({})) {
    known += (known.empty() ? "" : ", ") + command->get_name();
  }
  const std::string where = at == &app ? "" : " of " + at->get_name();
  return "unknown command \"" + rest.front() + "\"" + where + "; the commands are: " + known;
}

}  // namespace

int main(int argc, char** argv) {
  pl::raise_open_file_limit();  // before any socket: libzmq aborts on EMFILE
  pl::cli::CliContext context;
  int exit_code = pl::cli::kExitOk;

  CLI::App app{"pipelinectl: run pipelines and administer a Pipeline process tree"};
  app.require_subcommand(1);
  app.fallthrough();  // the global options may come after the command too ("run F --state-dir D")
  app.option_defaults()->always_capture_default();
  // An empty one would fall back to the default, acting on a tree nobody named.
  const CLI::Validator not_empty(
      [](std::string& text) { return text.empty() ? std::string("must not be empty") : ""; },
      "DIR");
  app.add_option("--state-dir", context.state_dir_flag,
                 "State directory of the tree (default: $PIPELINE_STATE_DIR, else ./var)")
      ->check(not_empty);
  app.add_option("--config", context.config_flag, "Config file whose state_dir to use")
      ->check(CLI::Validator([&context](std::string& file) { return context.read_config(file); },
                             "FILE"));

  pl::cli::add_run_commands(app, context, exit_code);
  pl::cli::add_runs_commands(app, context, exit_code);
  pl::cli::add_admin_commands(app, context, exit_code);
  pl::cli::add_registry_commands(app, context, exit_code);
  pl::cli::add_backup_commands(app, context, exit_code);
  pl::cli::add_keys_commands(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (auto unknown = unknown_command(app, e)) {
      std::cerr << *unknown << "\nRun with --help for more information.\n";
      return pl::cli::kExitUsage;
    }
    // CLI11 prints help on --help (exit 0) and a usage error otherwise.
    const int rc = app.exit(e);
    return rc == 0 ? pl::cli::kExitOk : pl::cli::kExitUsage;
  }
  return exit_code;
}
