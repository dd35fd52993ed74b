// pipelinectl's tree administration: status, events, start, stop, restart, scale, reload,
// shutdown. They talk to the supervisor's control socket.
#pragma once

namespace CLI {
class App;
}

namespace pl::cli {

struct CliContext;

// Adds the admin subcommands to `app`. Each sets `exit_code` when it runs.
void add_admin_commands(CLI::App& app, CliContext& context, int& exit_code);

}  // namespace pl::cli
