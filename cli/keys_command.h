// pipelinectl keys ...: CURVE key pairs for multi-host trees (docs/multi-host.md).
//
//   keys generate [--out DIR] [--name NAME] [--force]
//       writes DIR/NAME.key (the secret key, mode 0600) and DIR/NAME.pub (the public key) as
//       Z85 text; refuses to replace either without --force. DIR defaults to ".", NAME to the
//       host name. Prints the public key.
//   keys public FILE
//       prints the public key of a secret key file (to rebuild a lost .pub).
//
// No tree is needed. Exit codes (cli_context.h): 0 done, 1 a file exists (without --force), 2 bad
// usage or a bad key file, 70 the system refused (cannot write, no CURVE in libzmq).
#pragma once

namespace CLI {
class App;
}

namespace pl::cli {

// Adds the `keys` subcommand to `app`; its commands set `exit_code` when they run.
void add_keys_commands(CLI::App& app, int& exit_code);

}  // namespace pl::cli
