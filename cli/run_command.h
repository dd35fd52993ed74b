// pipelinectl run / validate: submit a pipeline to a tree (a private one when none runs on the
// state directory) and print its results.
#pragma once

namespace CLI {
class App;
}

namespace pl::cli {

struct CliContext;

void add_run_commands(CLI::App& app, CliContext& context, int& exit_code);

}  // namespace pl::cli
