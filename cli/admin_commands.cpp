#include "cli/admin_commands.h"

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"

namespace pl::cli {

// The supervisor work (issue 3) fills this in; until then pipelinectl has no admin commands.
void add_admin_commands(CLI::App&, CliContext&, int&) {}

}  // namespace pl::cli
