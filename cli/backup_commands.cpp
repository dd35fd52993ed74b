#include "cli/backup_commands.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/broker_call.h"
#include "cli/cli_context.h"
#include "cli/private_tree.h"
#include "cli/tree_sockets.h"
#include "common/backup_dirs.h"
#include "common/byte_size.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/registry/registry_client.h"
#include "common/sqlite/online_backup.h"

namespace pl::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kPollEvery = 100ms;

int fail(const Error& e, int code = kExitFailed) {
  std::cerr << "pipelinectl: " << e.message << "\n";
  return code;
}

// One process's copy: how to ask it (dir "" asks for the status), and what it said last.
struct Part {
  std::string file;  // "broker.db"
  std::function<Result<Value>(const std::string& dir)> ask;
  Value status;
  std::optional<Error> error;

  bool copying() const { return !error && status.get_string("state") == "copying"; }
};

Result<Value> ask_broker(const fs::path& state_dir, const std::string& dir) {
  Value body = Value::object();
  if (!dir.empty()) body["dir"] = dir;
  auto reply = call_broker(state_dir, protocol::MessageType::kBackupRequest, std::move(body), 10s);
  if (!reply.ok()) return std::move(reply).error();
  Value status = std::move(reply->body);
  status.as_object().erase("request");
  return status;
}

// Removes the backups in `backups` (directories named by backup_stamp) beyond the newest `keep`;
// anything else there is left alone. Says what it removed.
Status prune(const fs::path& backups, int keep) {
  auto names = list_backup_dirs(backups);
  if (!names.ok()) return std::move(names).error();
  for (size_t i = 0; i + static_cast<size_t>(keep) < names->size(); ++i) {
    const fs::path old = backups / (*names)[i];
    std::error_code ec;
    fs::remove_all(old, ec);
    if (ec) return make_error(ErrorCode::kIo, "remove " + old.string() + ": " + ec.message());
    std::cout << "removed the older backup " << old.string() << "\n";
  }
  return ok_status();
}

// The status a part ends with, from what it answers now. A process that restarted while it
// copied answers `idle` (or with another copy's path): its copy is gone.
void follow(Part& part, const std::string& path) {
  auto status = part.ask("");
  if (!status.ok()) {
    part.error = status.error();
    return;
  }
  if (status->get_string("path") != path) {
    part.error = make_error(ErrorCode::kUnavailable,
                            part.file + ": its process restarted before the copy finished; " +
                                "nothing was left at " + path);
    return;
  }
  part.status = std::move(*status);
}

void print_part(const Part& part) {
  if (part.error) {
    std::cerr << "pipelinectl: " << part.file << ": " << part.error->message << "\n";
    return;
  }
  const std::string state = part.status.get_string("state");
  if (state == "failed") {
    std::cerr << "pipelinectl: " << part.file << ": " << part.status.get_string("error") << "\n";
    return;
  }
  std::ostringstream line;
  line << std::left << std::setw(13) << part.file << std::right << std::setw(10)
       << format_bytes(static_cast<uint64_t>(part.status.get_int("bytes")));
  if (state == "done") {
    line << "  copied in " << std::fixed << std::setprecision(1)
         << static_cast<double>(part.status.get_int("elapsed_ms")) / 1000.0 << " s  -> ";
  } else {
    line << "  still copying (" << part.status.get_int("pages_copied") << " of "
         << part.status.get_int("pages_total") << " pages) into ";
  }
  std::cout << line.str() << part.status.get_string("path") << "\n";
}

int backup(const CliContext& context, const std::string& to, int timeout_s, int keep, bool json) {
  const fs::path state_dir = context.state_dir();
  const fs::path backups = absolute_path(state_dir / "backups");
  if (keep > 0 && !to.empty()) {
    std::cerr << "pipelinectl: --keep prunes " << backups.string()
              << ", where backups go without --to; it does not go with --to\n";
    return kExitUsage;
  }
  const fs::path dir =
      to.empty() ? backups / backup_stamp(std::chrono::system_clock::now()) : absolute_path(to);

  std::unique_ptr<RegistryClient> registry;
  std::optional<Error> no_registry;
  if (auto endpoint = tree_endpoint(state_dir, TreeSocket::kRegistry); endpoint.ok()) {
    RegistryClientOptions options;
    options.endpoint = *endpoint;
    options.attempt_timeout = 2s;
    options.deadline = 8s;
    registry = std::make_unique<RegistryClient>(options);
  } else {
    no_registry = endpoint.error();
  }
  std::vector<Part> parts(2);
  parts[0].file = "broker.db";
  parts[0].ask = [&](const std::string& d) { return ask_broker(state_dir, d); };
  parts[1].file = "registry.db";
  parts[1].ask = [&](const std::string& d) -> Result<Value> {
    if (!registry) return *no_registry;
    return registry->backup(d);
  };
  for (const Part& part : parts) {
    std::error_code ec;
    if (fs::exists(dir / part.file, ec)) {
      std::cerr << "pipelinectl: " << (dir / part.file).string()
                << " exists already: a backup never replaces a file; name another directory "
                   "with --to\n";
      return kExitUsage;
    }
  }

  for (Part& part : parts) {
    auto started = part.ask(dir.string());
    if (started.ok()) {
      part.status = std::move(*started);
    } else {
      part.error = started.error();
    }
  }
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    bool copying = false;
    for (const Part& part : parts) copying |= part.copying();
    if (!copying || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollEvery);
    for (Part& part : parts) {
      if (part.copying()) follow(part, (dir / part.file).string());
    }
  }

  if (json) {
    Value out;
    for (const Part& part : parts) {
      Value& entry = out[part.file];
      if (part.error) {
        entry["state"] = "failed";
        entry["error"] = part.error->message;
      } else {
        entry = part.status;
      }
    }
    std::cout << to_json(out, JsonStyle::kPretty) << "\n";
  } else {
    for (const Part& part : parts) print_part(part);
  }

  // Every part out of reach: 69 when nothing runs, 75 when one of them is there for later (it
  // starts, restarts, or cannot serve for now).
  bool all_unreachable = true, any_later = false, failed = false, still = false;
  for (const Part& part : parts) {
    const ErrorCode code = part.error ? part.error->code : ErrorCode::kInternal;
    const bool later = code == ErrorCode::kRetryLater;
    all_unreachable &= part.error && (code == ErrorCode::kUnavailable || later);
    any_later |= later;
    failed |= part.error.has_value() || part.status.get_string("state") == "failed";
    still |= part.copying();
  }
  if (all_unreachable) return any_later ? kExitTempFail : kExitUnavailable;
  if (failed) return kExitFailed;
  if (still) {
    std::cerr << "pipelinectl: still copying after " << timeout_s
              << " s; the copy goes on, and its file appears only once complete\n";
    return kExitTempFail;
  }
  if (!json) std::cout << "backup in " << dir.string() << "\n";
  // Only after this one succeeded: a failing backup never costs an older one.
  if (keep > 0) {
    if (auto st = prune(backups, keep); !st.ok()) return fail(st.error());
  }
  return kExitOk;
}

constexpr const char* kDatabases[] = {"broker.db", "registry.db"};

// Copies `from` to `to` whole or not at all (AtomicFile), mode 0600.
Status copy_database(const fs::path& from, const fs::path& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, "cannot read " + from.string());
  auto out = AtomicFile::create(to, 0600);
  if (!out.ok()) return std::move(out).error();
  std::string chunk(1 << 20, '\0');
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    if (auto st = out->write(std::string_view(chunk.data(), n)); !st.ok()) return st;
  }
  if (in.bad()) return make_error(ErrorCode::kIo, "read " + from.string() + " failed");
  if (auto st = out->set_mode(0600); !st.ok()) return st;
  return out->commit();
}

// Moves `name` and its -wal and -shm files out of `state_dir` into `aside` (created when
// needed). Returns whether there was anything to move. A -wal left beside a restored copy
// would be replayed into it: all three go, and the mark of a file found damaged
// (common/sqlite/damage_mark.h) with them.
Result<bool> move_aside(const fs::path& state_dir, const std::string& name, const fs::path& aside) {
  bool moved = false;
  for (const char* suffix : {"", "-wal", "-shm", ".damaged"}) {
    const fs::path file = state_dir / (name + suffix);
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(file, ec))) continue;
    // Each level private: replaced/ would otherwise be made with the umask's mode.
    if (auto st = ensure_private_dir(aside.parent_path()); !st.ok()) return st.error();
    if (auto st = ensure_private_dir(aside); !st.ok()) return st.error();
    fs::rename(file, aside / file.filename(), ec);
    if (ec) {
      return make_error(ErrorCode::kIo,
                        "move " + file.string() + " to " + aside.string() + ": " + ec.message());
    }
    moved = true;
  }
  return moved;
}

int restore(const CliContext& context, const std::string& from_arg) {
  const fs::path state_dir = absolute_path(context.state_dir());
  const fs::path from = absolute_path(from_arg);
  auto running = tree_running(state_dir);
  if (!running.ok()) return fail(running.error());
  if (*running) {
    std::cerr << "pipelinectl: a tree runs on " << state_dir.string()
              << ": stop it first (pipelinectl shutdown, or systemctl stop pipeline), then "
                 "restore\n";
    return kExitFailed;
  }
  if (std::error_code ec; !fs::is_directory(from, ec)) {
    std::cerr << "pipelinectl: " << from.string()
              << (fs::exists(from, ec) ? " is not a directory" : " does not exist")
              << ": name a directory `backup` wrote\n";
    return kExitUsage;
  }
  if (std::error_code ec; fs::equivalent(from, state_dir, ec)) {
    std::cerr << "pipelinectl: " << from.string()
              << " is the state directory itself: name a directory `backup` wrote\n";
    return kExitUsage;
  }
  std::vector<std::string> present;
  for (const char* name : kDatabases) {
    std::error_code ec;
    if (!fs::exists(from / name, ec)) continue;
    // Every copy is checked before anything in the state directory changes.
    if (auto st = sqlite::check_database_file(from / name); !st.ok()) {
      return fail(st.error(), kExitUsage);
    }
    present.emplace_back(name);
  }
  if (present.empty()) {
    std::cerr << "pipelinectl: " << from.string() << " holds neither broker.db nor registry.db\n";
    return kExitUsage;
  }
  if (auto st = ensure_private_dir(state_dir); !st.ok()) return fail(st.error());
  const fs::path aside = state_dir / "replaced" / backup_stamp(std::chrono::system_clock::now());
  bool moved_any = false;
  for (const std::string& name : present) {
    auto moved = move_aside(state_dir, name, aside);
    if (!moved.ok()) return fail(moved.error());
    moved_any |= *moved;
    if (auto st = copy_database(from / name, state_dir / name); !st.ok()) return fail(st.error());
    std::error_code ec;
    const auto bytes = fs::file_size(state_dir / name, ec);
    std::cout << "restored " << name << " (" << format_bytes(ec ? 0 : bytes) << ") from "
              << from.string() << "\n";
  }
  if (moved_any) std::cout << "what it replaced is in " << aside.string() << "\n";
  return kExitOk;
}

}  // namespace

void add_backup_commands(CLI::App& app, CliContext& context, int& exit_code) {
  struct Args {
    std::string to;
    int timeout_s = 600;
    int keep = 0;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "backup", "Copy broker.db and registry.db while the tree runs (restore: docs/operations.md)");
  cmd->add_option("--to", args->to,
                  "Directory for the copies (default: STATE_DIR/backups/<UTC time>); created, "
                  "mode 0700, by the broker and the registry");
  cmd->add_option("--timeout", args->timeout_s, "Seconds to wait for the copies")
      ->check(CLI::Range(1, 86400));
  cmd->add_option(
         "--keep", args->keep,
         "Then remove the backups of STATE_DIR/backups beyond the newest N (default: keep all)")
      ->check(CLI::Range(1, 100000))
      ->default_str("");  // 0 stands for "not given", which the range does not allow
  cmd->add_flag("--json", args->json, "Print each copy's status as JSON");
  cmd->callback([&context, &exit_code, args] {
    exit_code = backup(context, args->to, args->timeout_s, args->keep, args->json);
  });

  auto from = std::make_shared<std::string>();
  CLI::App* restore_cmd = app.add_subcommand(
      "restore", "Put the copies a backup made into the state directory of a stopped tree");
  restore_cmd->add_option("DIR", *from, "A directory `backup` wrote")->required();
  restore_cmd->callback([&context, &exit_code, from] { exit_code = restore(context, *from); });
}

}  // namespace pl::cli
