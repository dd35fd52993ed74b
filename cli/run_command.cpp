#include "cli/run_command.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "cli/cli_context.h"
#include "cli/pipeline_check.h"
#include "cli/private_tree.h"
#include "cli/progress.h"
#include "cli/run_report.h"
#include "cli/run_submit.h"
#include "cli/run_tools.h"
#include "cli/tree_sockets.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/net/request_client.h"
#include "common/pipeline/loader.h"
#include "common/protocol/client.h"
#include "common/signals.h"
#include "common/state_paths.h"

namespace pl::cli {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using protocol::MessageType;

namespace {

struct RunOptions {
  std::string file;
  std::vector<std::string> inputs;  // k=v
  std::string inputs_file;
  std::string workspace_dir;
  std::string output_dir;
  int silence_timeout_s = 60;  // how long the broker may stay silent before we give up
  std::string progress = "auto";  // auto | bar | lines | none
  std::vector<std::string> tool_files;  // registered before the run
  std::string idempotency_key;          // "" = one of our own, for this invocation
};

// How often the run's status is asked for while it runs: often enough for a bar that moves
// smoothly, once a second otherwise (the final status is pushed at once anyway).
constexpr auto kBarRefresh = 250ms;
constexpr auto kPlainRefresh = 1000ms;
// The least time between two plain progress lines of one loop.
constexpr auto kPlainLineInterval = 5000ms;

std::unique_ptr<ProgressDisplay> make_progress(const std::string& choice) {
  ProgressMode mode = ProgressMode::kOff;
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  if (choice == "bar" || (choice == "auto" && terminal)) {
    mode = ProgressMode::kBar;
  } else if (choice == "lines" || choice == "auto") {
    mode = ProgressMode::kLines;
  }
  size_t width = 80;
  winsize ws{};
  if (terminal && ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width = ws.ws_col;
  return std::make_unique<ProgressDisplay>(mode, stderr, kPlainLineInterval, width);
}

Result<Value> collect_inputs(const RunOptions& options) {
  Value inputs = Value::object();
  if (!options.inputs_file.empty()) {
    auto text = read_file(options.inputs_file);
    if (!text.ok()) return std::move(text).error();
    auto parsed = parse_json(*text);
    if (!parsed.ok()) return parsed.error().with_context(options.inputs_file);
    if (!parsed->is_object()) {
      return make_error(ErrorCode::kInvalidInput, options.inputs_file + ": expected a JSON object");
    }
    inputs = std::move(*parsed);
  }
  std::set<std::string, std::less<>> given;  // by --input: one may override --inputs, not another
  for (const auto& kv : options.inputs) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error(ErrorCode::kInvalidInput, "--input \"" + kv + "\": expected NAME=VALUE");
    }
    std::string name = kv.substr(0, eq);
    if (!given.insert(name).second) {
      return make_error(ErrorCode::kInvalidInput,
                        "--input " + name + " is given twice; which value was meant?");
    }
    inputs[name] = kv.substr(eq + 1);  // the pipeline's input types convert it
  }
  return inputs;
}

bool finished(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

// The last `lines` lines of a text file, read from its last 64 KiB at most ("" when it cannot
// be read): a long run's log may be large.
std::string tail_of(const fs::path& file, size_t lines) {
  constexpr std::streamoff kMaxBytes = 64 * 1024;
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - kMaxBytes);
  std::string text(static_cast<size_t>(size - from), '\0');
  in.seekg(from);
  if (!in.read(text.data(), static_cast<std::streamsize>(text.size()))) return {};
  size_t start = text.size();
  if (start > 0 && text[start - 1] == '\n') --start;
  for (size_t found = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++found == lines) break;
  }
  return text.substr(start);
}

// Said when the broker stopped answering because the whole tree is gone (no supervisor holds
// the state directory's lock any more): at once, rather than after the silence timeout.
void report_stopped_tree(const fs::path& state_dir, RunTree tree, const std::string& run_id) {
  if (tree == RunTree::kPrivate) {
    // Its directory goes with it: what it said is shown now or never.
    std::cerr << "pipelinectl: the private tree of this run stopped, and run " << run_id
              << " with it; the end of its log:\n"
              << tail_of(state_dir / "supervisor.log", 20);
    return;
  }
  std::cerr << "pipelinectl: the tree on " << state_dir.string()
            << " has stopped (no supervisor runs there; its log says why); run " << run_id
            << " is stored and goes on when a tree is started there again\n";
}

int submit_and_watch(const fs::path& state_dir, RunTree tree, const CheckedPipeline& checked,
                     const fs::path& path, const Value& inputs, const RunOptions& options,
                     int signal_fd, ProgressDisplay& progress) {
  auto endpoint = tree_endpoint(state_dir, TreeSocket::kBroker);
  if (!endpoint.ok()) {
    std::cerr << "pipelinectl: " << endpoint.error().message << "\n";
    return exit_code_for(endpoint.error().code);
  }
  net::Context context;
  net::RequestClient broker(context, *endpoint);

  protocol::SubmitRun submit;
  submit.pipeline_path = absolute_path(path).string();
  submit.pipeline_yaml = checked.text;
  submit.inputs = inputs;
  if (!options.workspace_dir.empty()) submit.workspace_dir = absolute_path(options.workspace_dir).string();
  if (!options.output_dir.empty()) submit.output_dir = absolute_path(options.output_dir).string();
  submit.idempotency_key =
      options.idempotency_key.empty() ? new_id("submit-") : options.idempotency_key;
  SubmitOutcome outcome =
      submit_run(broker, submit, SubmitWait{options.silence_timeout_s, signal_fd, state_dir});
  // Sent, and not answered: the broker may have stored the run before it fell behind.
  const std::string maybe_stored =
      !outcome.older_broker
          ? "the run may have been accepted all the same; the same command with "
            "--idempotency-key " +
                submit.idempotency_key + " does not run it twice"
          : "the run may have been accepted all the same (this broker is older than idempotency "
            "keys): `pipelinectl runs list --state running` shows it, before you run it again";
  if (outcome.signal != 0) {
    std::cerr << "pipelinectl: interrupted before the broker answered; "
              << (outcome.maybe_stored ? maybe_stored : "nothing was submitted") << "\n";
    return 128 + outcome.signal;
  }
  if (outcome.tree_stopped) {
    if (tree == RunTree::kPrivate) {  // its state, and the run with it, went with the tree
      std::cerr << "pipelinectl: the private tree stopped before its broker answered; the end "
                   "of its log:\n"
                << tail_of(state_dir / "supervisor.log", 20);
    } else {
      std::cerr << "pipelinectl: the tree on " << state_dir.string()
                << " stopped before its broker answered; " << maybe_stored
                << ", once a tree runs there again\n";
    }
    return kExitUnavailable;
  }
  auto& accepted = outcome.answer;
  if (!accepted.ok()) {
    std::cerr << "pipelinectl: submitting to the broker at " << *endpoint << ": "
              << accepted.error().message << "\n";
    if (accepted.error().code != ErrorCode::kTimeout) return kExitUnavailable;
    std::cerr << "pipelinectl: " << maybe_stored << "\n";
    return kExitTempFail;
  }
  if (accepted->type == MessageType::kClientError) {
    auto error = protocol::client_error_from(accepted->body);
    std::cerr << (error.ok() ? error->message : "the broker refused the run") << "\n";
    if (!error.ok()) return kExitFailed;
    // Bad input, or a key given to another submission: the command line is what must change.
    if (error->code == ErrorCode::kInvalidInput || error->code == ErrorCode::kConflict) {
      return kExitUsage;
    }
    // Still at its limit of running runs, or unable to serve for now (its disk is full): the
    // same submission may be accepted later.
    const bool later =
        error->code == ErrorCode::kRetryLater || error->code == ErrorCode::kUnavailable;
    return later ? kExitTempFail : kExitFailed;
  }
  auto run = protocol::run_accepted_from(accepted->body);
  if (!run.ok()) {
    std::cerr << "pipelinectl: unexpected reply from the broker: " << run.error().message << "\n";
    return kExitInternal;
  }
  if (accepted->body.get_bool("submitted_before")) {
    std::cerr << "run " << run->run_id << " was accepted before under idempotency key "
              << submit.idempotency_key << ": not run again, watching it (once it has ended, "
              << "`pipelinectl runs resume " << run->run_id
              << "` runs its failures again; a new key starts a new run)\n";
  } else {
    std::cerr << "run " << run->run_id << " accepted\n";
  }

  // Ask for the status every refresh (progress comes with it); the final status also arrives
  // pushed, at once. Each ask is a keepalive: if the broker stays silent past the silence
  // timeout, we give up (the run goes on).
  const auto refresh = progress.mode() == ProgressMode::kBar ? kBarRefresh : kPlainRefresh;
  auto last_heard = std::chrono::steady_clock::now();
  std::string said_unavailable;  // the broker's last "cannot serve now", said once
  for (;;) {
    auto status_reply =
        broker.call(MessageType::kWatchRun, protocol::to_body(protocol::WatchRun{"", run->run_id}), 1s);
    auto refusal = status_reply.ok() && status_reply->type == MessageType::kClientError
                       ? protocol::client_error_from(status_reply->body)
                       : Result<protocol::ClientError>(make_error(ErrorCode::kInternal, ""));
    if (refusal.ok() && refusal->code == ErrorCode::kUnavailable) {
      // The broker cannot serve for now (its disk is full, say) and will again: said once, and
      // waited for like a silent broker.
      if (refusal->message != said_unavailable) {
        progress.finish();
        std::cerr << "pipelinectl: " << refusal->message << "\n";
        said_unavailable = refusal->message;
      }
      if (std::chrono::steady_clock::now() - last_heard >
          std::chrono::seconds(options.silence_timeout_s)) {
        std::cerr << "pipelinectl: the broker has not served run " << run->run_id << " for "
                  << options.silence_timeout_s << " s; "
                  << (tree == RunTree::kPrivate ? "the private tree stops, and the run with it\n"
                                                : "it goes on once the broker can\n");
        return kExitTempFail;
      }
    } else if (status_reply.ok()) {
      last_heard = std::chrono::steady_clock::now();
      if (status_reply->type == MessageType::kClientError) {
        progress.finish();
        std::cerr << "pipelinectl: " << (refusal.ok() ? refusal->message : "watch failed") << "\n";
        return kExitFailed;
      }
      auto status = protocol::run_status_from(status_reply->body);
      if (status.ok() && finished(status->state)) {
        progress.finish(status->progress, SteadyClock::now());
        return report_run(*status, tree, std::cout, std::cerr);
      }
      if (status.ok()) progress.update(status->progress, SteadyClock::now());
    } else if (auto running = tree_running(state_dir); running.ok() && !*running) {
      progress.finish();
      report_stopped_tree(state_dir, tree, run->run_id);
      return kExitUnavailable;
    } else if (std::chrono::steady_clock::now() - last_heard >
               std::chrono::seconds(options.silence_timeout_s)) {
      progress.finish();
      std::cerr << "pipelinectl: the broker has not answered for " << options.silence_timeout_s
                << " s; run " << run->run_id << " may still be running\n";
      return kExitTempFail;
    }
    for (int sig : read_signals(signal_fd)) {
      if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {  // Ctrl-C, kill, a closed terminal
        progress.finish();
        if (tree == RunTree::kPrivate) {
          std::cerr << "pipelinectl: interrupted; the private tree stops, and run " << run->run_id
                    << " with it\n";
        } else {
          std::cerr << "pipelinectl: interrupted; run " << run->run_id
                    << " was not cancelled and goes on (pipelinectl runs cancel " << run->run_id
                    << " stops it)\n";
        }
        return 128 + sig;
      }
    }
    auto pushed = broker.next_push(refresh);
    if (pushed.ok() && pushed->has_value() && (*pushed)->type == MessageType::kRunStatus) {
      auto status = protocol::run_status_from((*pushed)->body);
      if (status.ok() && status->run_id == run->run_id && finished(status->state)) {
        progress.finish(status->progress, SteadyClock::now());
        return report_run(*status, tree, std::cout, std::cerr);
      }
    }
  }
}

int run_pipeline(const CliContext& context, const RunOptions& options) {
  const fs::path path(options.file);
  auto checked = check_pipeline_file(path);
  if (!checked) return kExitUsage;
  auto inputs = collect_inputs(options);
  if (!inputs.ok()) {
    std::cerr << "pipelinectl: " << inputs.error().message << "\n";
    return kExitUsage;
  }
  // The broker binds the inputs again; binding them here too reports a wrong or unknown input
  // before any tree is started or asked.
  if (auto bound = pipeline::bind_inputs(checked->pipeline, *inputs); !bound.ok()) {
    std::cerr << "pipelinectl: " << bound.error().message << "\n";
    return kExitUsage;
  }
  auto tools = load_run_tools(options.tool_files);
  if (!tools.ok()) {
    std::cerr << "pipelinectl: " << tools.error().message << "\n";
    return kExitUsage;
  }
  // Signals are read, not handled, so that a private tree is always stopped on the way out.
  auto signal_fd = open_signalfd({SIGINT, SIGTERM, SIGHUP});
  if (!signal_fd.ok()) {
    std::cerr << "pipelinectl: " << signal_fd.error().message << "\n";
    return kExitInternal;
  }
  fs::path state_dir = context.state_dir();
  std::unique_ptr<PrivateTree> tree;
  auto running = tree_running(state_dir);
  if (!running.ok()) {
    // Not "no tree": one may run there that this user cannot reach. A private tree instead
    // would run the pipeline where nobody expects it, and forget it.
    std::cerr << "pipelinectl: cannot tell whether a tree runs on " << state_dir.string() << ": "
              << running.error().message
              << " (run as a user who may use it, or choose another with --state-dir)\n";
    return kExitUnavailable;
  }
  if (!*running) {
    auto started = PrivateTree::start(30s);
    if (!started.ok()) {
      std::cerr << "pipelinectl: no tree runs on " << state_dir.string()
                << " and a private one could not start: " << started.error().message << "\n";
      return kExitUnavailable;
    }
    tree = std::move(*started);
    state_dir = tree->state_dir();
    if (options.progress != "none") {
      std::cerr << "pipelinectl: no tree runs on " << context.state_dir().string()
                << "; this run has a private one, which stops (with its state) when it ends\n";
    }
  }
  if (Status registered = register_run_tools(state_dir, *tools); !registered.ok()) {
    std::cerr << "pipelinectl: " << registered.error().message << "\n";
    if (tree) tree->stop(15s);
    return registered.error().code == ErrorCode::kConflict ? kExitFailed : kExitUnavailable;
  }
  auto progress = make_progress(options.progress);
  const int rc = submit_and_watch(state_dir, tree ? RunTree::kPrivate : RunTree::kKept, *checked,
                                  path, *inputs, options, *signal_fd, *progress);
  progress->finish();
  if (tree) tree->stop(15s);
  return rc;
}

}  // namespace

void add_run_commands(CLI::App& app, CliContext& context, int& exit_code) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* run = app.add_subcommand(
      "run", "Run a pipeline and print its results as JSON (starts a private tree when none runs)");
  run->add_option("file", options->file, "Pipeline file")->required();
  run->add_option("--input", options->inputs, "An input, NAME=VALUE (repeatable)");
  run->add_option("--inputs", options->inputs_file, "A JSON file of inputs");
  run->add_option("--tool", options->tool_files,
                  "A tool definition file to register before the run (repeatable; one already "
                  "registered the same way is kept)");
  run->add_option("--workspace", options->workspace_dir, "Workspace directory for this run");
  run->add_option("--output-dir", options->output_dir, "Output directory for this run");
  run->add_option("--idempotency-key", options->idempotency_key,
                  "A name for this submission: while the run it starts is kept, submitting with "
                  "the same key gives that run instead of a second one (default: a new key)")
      ->check([](const std::string& key) -> std::string {
        return key.empty() ? "is empty" : protocol::idempotency_key_problem(key);
      });
  run->add_option("--silence-timeout", options->silence_timeout_s,
                  "Seconds the broker may stay silent before giving up")
      ->check(CLI::Range(1, 86400));
  run->add_option("--progress", options->progress,
                  "Progress of loops and batches on stderr: auto (a bar on a terminal, plain "
                  "lines otherwise), bar, lines, none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}));
  run->callback([&context, &exit_code, options] { exit_code = run_pipeline(context, *options); });

  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* validate = app.add_subcommand(
      "validate",
      "Check pipelines without running them; lists every problem with file:line:column");
  validate->add_option("files", *files, "Pipeline files (one or more)")->required();
  validate->callback([&exit_code, files] {
    // Every file is checked, so that one command lists every problem of a set of pipelines.
    size_t failed = 0;
    for (const std::string& file : *files) {
      if (check_pipeline_file(file)) {
        std::cerr << file << ": ok\n";
      } else {
        ++failed;
      }
    }
    if (files->size() > 1 && failed > 0) {
      std::cerr << failed << " of " << files->size() << " files have errors\n";
    }
    exit_code = failed == 0 ? kExitOk : kExitUsage;
  });
}

}  // namespace pl::cli
