// pipeline-registry: the one owner of tool definitions and sessions (registry.db).
//
// Exit codes: 0 stopped on SIGTERM/SIGINT; 2 bad config; 70 internal error; 75 the database or
// the socket is unavailable (another registry holds them, or the disk refuses): try again later.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sysexits.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "common/fs.h"
#include "common/full_disk.h"
#include "common/log.h"
#include "common/net/curve_config.h"
#include "common/net/zap_handler.h"
#include "common/net/zmq_socket.h"
#include "common/open_file_limit.h"
#include "common/service_notify.h"
#include "common/signals.h"
#include "common/state_paths.h"
#include "registry/registry_config.h"
#include "registry/registry_core.h"
#include "registry/registry_shell.h"
#include "registry/sqlite_store.h"

int main(int argc, char** argv) {
  pl::raise_open_file_limit();  // before any socket: libzmq aborts on EMFILE
  std::string config_path;
  CLI::App app{"pipeline-registry: owns tool definitions and sessions"};
  app.add_option("--config", config_path, "Config file (default: $PIPELINE_CONFIG)");
  CLI11_PARSE(app, argc, argv);

  pl::init_logging("registry");
  if (config_path.empty()) {
    if (const char* env = std::getenv(pl::kConfigEnv)) config_path = env;
  }
  auto config = pl::registry::load_registry_config(config_path);
  if (!config.ok()) {
    spdlog::error("{}", config.error().message);
    return 2;
  }
  const pl::StatePaths paths(config->state_dir);
  if (auto st = pl::ensure_private_dir(paths.dir()); !st.ok()) {
    spdlog::error("{}", st.error().message);
    return 2;
  }
  if (config->endpoint.empty()) {
    auto endpoint = paths.registry_endpoint();
    if (!endpoint.ok()) {
      spdlog::error("{}", endpoint.error().message);
      return 2;
    }
    config->endpoint = *endpoint;
  }
  if (config->database.empty()) config->database = paths.registry_db();

  auto signal_fd = pl::open_signalfd({SIGTERM, SIGINT, SIGHUP, SIGPIPE});
  if (!signal_fd.ok()) {
    spdlog::error("{}", signal_fd.error().message);
    return EX_SOFTWARE;
  }
  // The database first: its lock keeps a second registry from taking over our socket.
  auto store = pl::registry::SqliteStore::open(config->database, config->store);
  if (!store.ok()) {
    // On a full disk every start would fail alike until the supervisor gave up on the tree: the
    // registry waits for room first (common/full_disk.h).
    const auto dir = config->database.parent_path();
    if (pl::waiting_for_room_helps(store.error().message, dir)) {
      return pl::wait_for_room_before_start(dir, store.error().message, "the registry", *signal_fd,
                                            argv);
    }
    spdlog::error("{}", store.error().message);
    return store.error().code == pl::ErrorCode::kInvalidInput ? 2 : EX_TEMPFAIL;
  }

  pl::RealClock clock;
  pl::net::Context context;
  // The ZAP handler is bound before any CURVE socket, so that none can accept a client unchecked.
  auto started_zap = pl::net::ZapHandler::start_if_configured(context, config->curve, clock);
  if (!started_zap.ok()) {
    spdlog::error("{}", started_zap.error().message);
    return started_zap.error().code == pl::ErrorCode::kIo ? EX_TEMPFAIL : 2;
  }
  const std::unique_ptr<pl::net::ZapHandler> zap = std::move(*started_zap);
  // A tcp:// endpoint is a CURVE server (the config made sure keys are there).
  auto listen = [&](pl::net::Socket& socket, const std::string& endpoint,
                    const std::string& domain) -> pl::Status {
    if (pl::net::is_network_endpoint(endpoint)) {
      pl::net::SocketOptions options;
      options.curve_server = zap->server_keys(domain);
      socket = pl::net::Socket(context, pl::net::SocketKind::kRouter, options);
    }
    if (auto st = socket.bind(endpoint); !st.ok()) return st;
    if (pl::net::is_network_endpoint(endpoint)) return zap->watch(socket, domain);
    return pl::ok_status();
  };
  pl::net::Socket socket(context, pl::net::SocketKind::kRouter);
  pl::net::Socket tcp_socket(context, pl::net::SocketKind::kRouter);
  if (auto st = listen(socket, config->endpoint, "pipeline.registry"); !st.ok()) {
    spdlog::error("{}", st.error().message);
    return EX_TEMPFAIL;
  }
  if (!config->tcp_endpoint.empty()) {
    if (auto st = listen(tcp_socket, config->tcp_endpoint, "pipeline.registry.tcp"); !st.ok()) {
      spdlog::error("{}", st.error().message);
      return EX_TEMPFAIL;
    }
  }
  // As bound: "tcp://ADDR:*" asks the system for a port, and this is where it is reported.
  std::string listening = "endpoint=" + socket.last_endpoint();
  if (!config->tcp_endpoint.empty()) listening += " tcp_endpoint=" + tcp_socket.last_endpoint();
  spdlog::info("registry listening: {}, database {} (synchronous={})", listening,
               config->database.string(),
               config->store.sync == pl::registry::SyncMode::kFull ? "full" : "normal");
  pl::notify_status(listening);

  pl::registry::RegistryCore core(**store, config->limits);
  pl::registry::ShellOptions options;
  options.max_batch = config->max_batch;
  options.maintenance_interval = std::chrono::milliseconds(config->maintenance_interval_ms);
  options.watchdog_interval = std::chrono::milliseconds(pl::watchdog_interval_ms() / 2);
  if (!config->tcp_endpoint.empty()) options.second_socket = &tcp_socket;
  options.zap = zap.get();
  pl::registry::RegistryShell shell(socket, **store, core, clock, *signal_fd, options);

  pl::notify_ready();
  const int rc = shell.run();
  pl::notify_stopping();
  return rc;
}
