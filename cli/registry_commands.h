// pipelinectl tools ... and pipelinectl sessions ...: the registry's command-line face.
//
//   tools register FILE [--replace]   reads a YAML/JSON definition (errors: file:line:column)
//   tools list [--json] | show NAME [--json] | remove NAME
//   sessions list [--json] | show NAME [--json] [--last N] | export NAME [--output FILE]
//   sessions delete NAME
//
// They talk to the registry on the state directory's registry.sock. Exit codes (cli_context.h):
// 0 done, 1 the registry refused (not found, conflict), 2 bad usage or a bad file, 69 no registry
// answers on the state directory, 70 internal error.
#pragma once

namespace CLI {
class App;
}

namespace pl::cli {

struct CliContext;

// Adds the `tools` and `sessions` subcommands to `app`. Each sets `exit_code` when it runs.
void add_registry_commands(CLI::App& app, CliContext& context, int& exit_code);

}  // namespace pl::cli
