// pipeline-supervisor --config FILE [--state-dir DIR] [--metrics-listen HOST:PORT]: runs a
// supervision tree of OS processes.
// Wires the real seams together; everything else lives in the shell and the core.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "common/fs.h"
#include "common/log.h"
#include "common/open_file_limit.h"
#include "common/state_paths.h"
#include "supervisor/config_loader.h"
#include "supervisor/exit_codes.h"
#include "supervisor/program_sections.h"
#include "supervisor/shell.h"
#include "supervisor/state_lock.h"

namespace {

using namespace pl;
using namespace pl::supervisor;

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "pipeline-supervisor: %s\n", message.c_str());
  return code;
}

void print_spec(const ChildSpec& c, const std::string& indent) {
  std::printf("%s%s (%s", indent.c_str(), c.name.c_str(), std::string(to_string(c.type)).c_str());
  if (c.type == ChildType::kSupervisor) {
    std::printf(", %s, intensity %lld in %lld s", std::string(to_string(c.flags.strategy)).c_str(),
                static_cast<long long>(c.flags.intensity), static_cast<long long>(c.flags.period_s));
  } else {
    if (c.type == ChildType::kPool) std::printf(" of %lld", static_cast<long long>(c.count));
    std::printf(", %s, %s", std::string(to_string(c.restart)).c_str(), c.process.executable.c_str());
  }
  std::printf(")\n");
  for (const ChildSpec& k : c.children) print_spec(k, indent + "  ");
}

// Where the metrics endpoint listens: the flag ("off" = nowhere) wins over the config.
Result<std::optional<ListenAddress>> metrics_address(const std::string& flag,
                                                     const TreeSpec& tree) {
  const std::string text = flag.empty() ? tree.metrics.listen : flag;
  if (text.empty() || text == "off") return std::optional<ListenAddress>();
  auto address = parse_listen_address(text);
  if (!address.ok()) return address.error().with_context("--metrics-listen");
  if (!address->loopback && !tree.metrics.allow_remote) {
    return make_error(ErrorCode::kInvalidInput,
                      "--metrics-listen " + address->display() +
                          " is not a loopback address; set supervisor.metrics.allow_remote: true "
                          "in the config to serve metrics to other hosts");
  }
  return std::optional<ListenAddress>(*address);
}

int run(const std::string& config_file, const std::string& state_dir_flag,
        const std::string& metrics_flag, bool check_only, bool private_tree) {
  const pid_t starter = ::getppid();
  const CommandLookup lookup = CommandLookup::for_this_process();
  const std::filesystem::path base_dir = std::filesystem::current_path();
  // The programs' own sections too: a mistake there would otherwise surface only when that
  // program starts, and at boot take the whole tree down with it.
  auto tree = load_checked_config(config_file, lookup, base_dir);
  if (!tree.ok()) return fail(kExitUsage, tree.error().message);
  auto metrics = metrics_address(metrics_flag, *tree);
  if (!metrics.ok()) return fail(kExitUsage, metrics.error().message);
  if (check_only) {
    print_spec(tree->root, "");
    return kExitClean;
  }

  const std::filesystem::path state_dir = resolve_state_dir(state_dir_flag, tree->state_dir);
  // The tree's sockets live in the state directory: a path too long for the longest of them
  // is refused before the directory is made, rather than failing after, leaving it behind.
  if (auto longest = StatePaths(state_dir).broker_workers_endpoint(); !longest.ok()) {
    return fail(kExitUsage, "state directory: " + longest.error().message);
  }
  if (auto made = ensure_private_dir(state_dir); !made.ok()) {
    return fail(kExitUsage, "state directory: " + made.error().message);
  }
  const StatePaths paths(state_dir);
  auto lock = StateLock::acquire(paths.supervisor_lock().string());
  if (!lock.ok()) {
    // Another tree holds it, or the directory cannot take the lock (read-only, no permission):
    // an unusable state directory, which a restart will not fix (exit 2, not restarted).
    return fail(kExitUsage, "state directory: " + lock.error().message);
  }

  ::signal(SIGPIPE, SIG_IGN);
  // Before any thread exists, so that every thread has them blocked.
  auto signals = SignalSource::open({SIGTERM, SIGINT, SIGHUP, SIGCHLD});
  if (!signals.ok()) return fail(kExitInternal, signals.error().message);
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return fail(kExitInternal, "cannot become a child subreaper");
  }
  auto guard = TreeGuard::start();
  if (!guard.ok()) return fail(kExitInternal, guard.error().message);

  RealClock clock;
  auto spawner = make_boost_process_spawner();
  ShellOptions options;
  options.tree = std::move(*tree);
  options.state_dir = state_dir;
  options.lookup = lookup;
  options.base_dir = base_dir;
  options.metrics_listen = *metrics;
  auto shell = SupervisorShell::create(std::move(options),
                                       ShellSeams{clock, *spawner, *signals, *guard});
  if (!shell.ok()) {
    return fail(shell.error().code == ErrorCode::kInvalidInput ? kExitUsage : kExitInternal,
                shell.error().message);
  }
  auto code = (*shell)->run();
  // Every child has stopped. The command that started a private tree removes its directory
  // once the tree has stopped; when that command is gone (killed), nobody else would.
  if (private_tree && ::getppid() != starter) {
    std::error_code ec;
    std::filesystem::remove_all(state_dir, ec);
    if (ec) spdlog::error("removing the private tree's {}: {}", state_dir.string(), ec.message());
  }
  if (!code.ok()) return fail(kExitInternal, code.error().message);
  return *code;
}

}  // namespace

int main(int argc, char** argv) {
  pl::raise_open_file_limit();  // before any socket: libzmq aborts on EMFILE
  CLI::App app{"pipeline-supervisor: runs a tree of OS processes by Erlang/OTP's rules"};
  std::string config_file;
  std::string state_dir;
  std::string metrics_listen;
  bool check_only = false;
  bool private_tree = false;
  app.add_flag("--check", check_only, "Only load and check the config, print the tree, and exit");
  app.add_flag("--private", private_tree,
               "The tree is a command's own (pipelinectl run): if that command is gone when the "
               "tree stops, remove the state directory");
  app.add_option("--config", config_file, "The tree's config file (YAML)")->required();
  app.add_option("--state-dir", state_dir,
                 "State directory (default: $PIPELINE_STATE_DIR, else supervisor.state_dir, "
                 "else ./var)");
  app.add_option("--metrics-listen", metrics_listen,
                 "Serve /metrics and /health on HOST:PORT (overrides supervisor.metrics.listen; "
                 "\"off\": no endpoint; port 0: any free port, logged and shown in status)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitClean : kExitUsage;
  }
  pl::init_logging("supervisor");
  try {
    return run(config_file, state_dir, metrics_listen, check_only, private_tree);
  } catch (const std::exception& e) {
    return fail(kExitInternal, std::string("internal error: ") + e.what());
  }
}
