// pipelinectl backup [--to DIR] [--timeout SECONDS] [--keep N] [--json]: an online copy of
// broker.db and registry.db while the tree serves; pipelinectl restore DIR.
//
// The broker and the registry each copy their own database into DIR (default:
// STATE_DIR/backups/<UTC time>), a few pages per turn of their loop (sqlite::BackupJob); this
// command starts both, waits for them (every `--timeout`), and prints where the copies are. Each
// file is one consistent state of its database; they are taken at about the same time, not at
// one instant. A file appears only complete; nothing existing is replaced.
//
// With --keep N (default location only), the backups there beyond the newest N are removed
// once this one has succeeded. `restore DIR` puts copies back into a stopped tree's state
// directory, moving what they replace aside (docs/operations.md).
//
// Exit codes (cli_context.h): 0 both copied; 1 a copy failed; 2 bad usage (DIR holds a copy
// already); 69 no tree answers on the state directory; 75 a copy still goes on at the deadline.
#pragma once

namespace CLI {
class App;
}

namespace pl::cli {

struct CliContext;

void add_backup_commands(CLI::App& app, CliContext& context, int& exit_code);

}  // namespace pl::cli
