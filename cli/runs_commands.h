// pipelinectl runs list | show RUN | cancel RUN | resume RUN | export RUN: the runs a tree's
// broker holds (all of them stay in broker.db).
#pragma once

namespace CLI {
class App;
}

namespace pl::cli {

struct CliContext;

void add_runs_commands(CLI::App& app, CliContext& context, int& exit_code);

}  // namespace pl::cli
