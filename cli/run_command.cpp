#include "cli/run_command.h"

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"

namespace pl::cli {

void add_run_commands(CLI::App&, CliContext&, int&) {}

}  // namespace pl::cli
