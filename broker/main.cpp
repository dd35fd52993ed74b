// pipeline-broker: accepts runs, walks their steps, dispatches work items to workers.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sysexits.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <random>

#include "broker/broker_config.h"
#include "broker/broker_shell.h"
#include "common/fs.h"
#include "common/full_disk.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/open_file_limit.h"
#include "common/service_notify.h"
#include "common/signals.h"
#include "common/sqlite/damage_mark.h"
#include "common/state_paths.h"

int main(int argc, char** argv) {
  pl::raise_open_file_limit();  // before any socket: libzmq aborts on EMFILE
  std::string config_path;
  CLI::App app{"pipeline-broker: accepts pipeline runs and dispatches their work to workers"};
  app.add_option("--config", config_path, "Config file (default: $PIPELINE_CONFIG)");
  CLI11_PARSE(app, argc, argv);

  pl::init_logging("broker");
  if (config_path.empty()) {
    if (const char* env = std::getenv(pl::kConfigEnv)) config_path = env;
  }
  auto config = pl::broker::load_broker_config(config_path);
  if (!config.ok()) {
    spdlog::error("{}", config.error().message);
    return 2;
  }
  if (auto st = pl::ensure_private_dir(config->state_dir); !st.ok()) {
    spdlog::error("{}", st.error().message);
    return 2;
  }
  const pl::StatePaths paths(config->state_dir);
  pl::broker::BrokerEndpoints endpoints;
  // The state directory's client socket is always there: pipelinectl and the supervisor's
  // health probe look for the broker in the state directory and nowhere else. A configured
  // clients_endpoint (another ipc:// path, or tcp:// for remote clients) is bound besides.
  auto local_clients = paths.broker_clients_endpoint();
  if (!local_clients.ok()) {
    spdlog::error("{}", local_clients.error().message);
    return 2;
  }
  endpoints.clients = *local_clients;
  if (config->clients_endpoint != *local_clients) {
    endpoints.extra_clients = config->clients_endpoint;
  }
  endpoints.workers = config->workers_endpoint;
  if (endpoints.workers.empty()) {
    auto local_workers = paths.broker_workers_endpoint();
    if (!local_workers.ok()) {
      spdlog::error("{}", local_workers.error().message);
      return 2;
    }
    endpoints.workers = *local_workers;
  }
  // Under a supervisor, its event stream tells us at once when a local worker dies, and its
  // control socket replaces a worker that does not let go of cancelled work.
  if (std::getenv(pl::kChildNameEnv)) {
    if (auto events = paths.events_endpoint(); events.ok()) endpoints.supervisor_events = *events;
    if (auto control = paths.control_endpoint(); control.ok()) endpoints.supervisor_control = *control;
  }

  auto signal_fd = pl::open_signalfd({SIGTERM, SIGINT, SIGHUP, SIGPIPE});
  if (!signal_fd.ok()) {
    spdlog::error("{}", signal_fd.error().message);
    return EX_SOFTWARE;
  }

  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  endpoints.local_host = host;
  pl::broker::DispatchConfig dispatch;
  dispatch.heartbeat = config->heartbeat;
  dispatch.liveness = config->liveness;
  dispatch.deadline_grace = config->deadline_grace;
  dispatch.poison_threshold = config->poison_threshold;
  dispatch.cancel_grace = config->cancel_grace;
  dispatch.max_retry_after = config->max_retry_after;
  dispatch.providers = config->providers;
  dispatch.default_provider = config->default_provider;
  dispatch.instance_id = pl::new_id("broker-");
  dispatch.local_host = host;

  // A store that cannot be opened, recovered or committed: EX_TEMPFAIL, for the supervisor to
  // start the broker again; on a full disk, only once it has room (full_disk.h). A damaged file
  // is marked, and refused at once from then on (damage_mark.h).
  const auto store_failed = [&](const std::string& message) {
    if (pl::sqlite::reports_damage(message)) {
      spdlog::critical("{}", message);
      pl::sqlite::mark_damaged(paths.broker_db(), message);
      return EX_DATAERR;
    }
    if (!pl::waiting_for_room_helps(message, config->state_dir)) {
      spdlog::error("{}", message);
      return EX_TEMPFAIL;
    }
    return pl::wait_for_room_before_start(config->state_dir, message, "the broker", *signal_fd,
                                          argv);
  };
  if (pl::Status usable = pl::sqlite::refuse_if_marked_damaged(paths.broker_db()); !usable.ok()) {
    spdlog::critical("{}", usable.error().message);
    return EX_DATAERR;
  }
  auto store = pl::broker::open_sqlite_run_store(paths.broker_db().string(), config->store);
  if (!store.ok()) return store_failed(store.error().message);

  pl::RealClock clock;
  pl::broker::Dispatcher dispatcher(dispatch, std::random_device{}());
  pl::broker::RunSettings settings;
  settings.default_timeout_ms = config->default_timeout_ms;
  settings.default_max_parallel = config->default_max_parallel;
  settings.default_llm_provider = config->default_llm_provider;
  pl::broker::RunCoordinator coordinator(dispatcher, **store, settings,
                                         config->max_outstanding_items);
  pl::broker::ClientApi api(coordinator, dispatcher, pl::broker::ClientLimits{config->max_running_runs});

  // Runs that were running when the last broker stopped continue; recorded items are not run
  // again. Workers get a moment to declare what they still hold before anything is dispatched.
  // Recorded results are indexed here and replayed once the broker runs, a bounded number per
  // turn. Indexing millions of them still takes a while (0.5 s for 2 million): every 100 000
  // the broker asks its supervisor for more time to become ready, far more than the next
  // 100 000 take, so that only a recovery that stopped moving times out.
  coordinator.on_recovery_progress(
      [](const std::string& status) {
        pl::notify_extend_timeout(std::chrono::seconds(30));
        pl::notify_status(status);
      },
      100000);
  auto recovered = coordinator.recover(clock.instant());
  if (!recovered.ok()) {
    return store_failed("recovering runs from " + paths.broker_db().string() + ": " +
                        recovered.error().message);
  }
  if (*recovered > 0) {
    dispatcher.hold_dispatch_until(clock.now() + config->heartbeat * 3 / 2);
    spdlog::info("recovered {} run(s)", *recovered);
  }
  if (auto st = (*store)->commit(); !st.ok()) return store_failed(st.error().message);

  pl::net::Context context;
  // The ZAP handler is bound before any CURVE socket, so that none can accept a client unchecked.
  auto started_zap = pl::net::ZapHandler::start_if_configured(context, config->curve, clock);
  if (!started_zap.ok()) {
    spdlog::error("{}", started_zap.error().message);
    return started_zap.error().code == pl::ErrorCode::kIo ? EX_TEMPFAIL : 2;
  }
  const std::unique_ptr<pl::net::ZapHandler> zap = std::move(*started_zap);
  endpoints.zap = zap.get();
  pl::broker::BrokerShell shell(context, *config, dispatcher, coordinator, api, clock, *signal_fd);
  if (auto st = shell.bind(endpoints); !st.ok()) {
    spdlog::error("{}", st.error().message);
    return EX_TEMPFAIL;
  }
  // As bound: "tcp://ADDR:*" asks the system for a port, and this is where it is reported.
  std::string status = "clients=" + shell.bound_clients();
  if (const std::string extra = shell.bound_extra_clients(); !extra.empty()) {
    status += " clients_endpoint=" + extra;
  }
  status += " workers=" + shell.bound_workers();
  spdlog::info("broker {} listening: {}", dispatch.instance_id, status);
  pl::notify_status(status);
  pl::notify_ready();
  const int rc = shell.run();
  pl::notify_stopping();
  return rc;
}
