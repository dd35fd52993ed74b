// pipeline-worker: runs work items from the broker. Stateless; any number, on any host.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sysexits.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>

#include "common/log.h"
#include "common/open_file_limit.h"
#include "common/service_notify.h"
#include "common/signals.h"
#include "common/state_paths.h"
#include "worker/executors/data_transform_executor.h"
#include "worker/executors/echo_executor.h"
#include "worker/executors/file_ops_executor.h"
#include "worker/executors/set_variable_executor.h"
#include "worker/executors/tool_executor.h"
#include "worker/llm/llm_setup.h"
#include "worker/llm/registry_tools.h"
#include "worker/tool_catalog.h"
#include "worker/tool_invocation.h"
#include "worker/worker_config.h"
#include "worker/worker_shell.h"

namespace {

// How long a stop may wait for the items running to finish: the supervisor's grace before its
// SIGKILL, less a margin to say goodbye in (10 s when no supervisor says).
pl::Duration stop_budget() {
  const char* grace = std::getenv(pl::kShutdownGraceEnv);
  if (!grace || !*grace) return std::chrono::seconds(10);
  char* end = nullptr;
  const long long ms = std::strtoll(grace, &end, 10);
  if (*end != '\0' || ms <= 0) return pl::Duration::zero();
  return std::chrono::milliseconds(ms - std::min<long long>(1000, ms / 5));
}

}  // namespace

int main(int argc, char** argv) {
  pl::raise_open_file_limit();  // before any socket: libzmq aborts on EMFILE
  std::string config_path;
  std::string broker_endpoint;
  int slots = 0;
  CLI::App app{"pipeline-worker: runs work items handed out by the broker"};
  app.add_option("--config", config_path, "Config file (default: $PIPELINE_CONFIG)");
  app.add_option("--broker", broker_endpoint, "Broker worker endpoint (default: from config)");
  app.add_option("--slots", slots, "Items run at once (default: worker.slots)")->check(CLI::Range(1, 4096));
  CLI11_PARSE(app, argc, argv);

  pl::init_logging("worker");
  if (config_path.empty()) {
    if (const char* env = std::getenv(pl::kConfigEnv)) config_path = env;
  }
  auto config = pl::worker::load_worker_config(config_path);
  if (!config.ok()) {
    spdlog::error("{}", config.error().message);
    return 2;
  }
  if (slots > 0) config->slots = static_cast<uint32_t>(slots);
  if (!broker_endpoint.empty()) config->broker_endpoint = broker_endpoint;
  if (config->broker_endpoint.empty()) {
    auto endpoint = pl::StatePaths(config->state_dir).broker_workers_endpoint();
    if (!endpoint.ok()) {
      spdlog::error("{}", endpoint.error().message);
      return 2;
    }
    config->broker_endpoint = *endpoint;
  }
  if (config->registry_endpoint.empty()) {
    auto endpoint = pl::StatePaths(config->state_dir).registry_endpoint();
    if (!endpoint.ok()) {
      spdlog::error("{}", endpoint.error().message);
      return 2;
    }
    config->registry_endpoint = *endpoint;
  }

  auto signal_fd = pl::open_signalfd({SIGTERM, SIGINT, SIGHUP, SIGPIPE});
  if (!signal_fd.ok()) {
    spdlog::error("{}", signal_fd.error().message);
    return EX_SOFTWARE;
  }

  pl::RealClock clock;
  pl::RegistryClientOptions registry_options;
  registry_options.endpoint = config->registry_endpoint;
  if (config->curve && pl::net::is_network_endpoint(config->registry_endpoint)) {
    registry_options.curve = config->curve->keys_for("registry_public_key");
  }
  pl::RegistryClient registry(std::move(registry_options));
  pl::worker::RegistryToolCatalog tools(registry, clock);
  pl::worker::ExecutorTable executors;
  executors.add("echo", std::make_unique<pl::worker::EchoExecutor>());
  executors.add("set_variable", std::make_unique<pl::worker::SetVariableExecutor>());
  executors.add("tool", std::make_unique<pl::worker::ToolExecutor>(
                            tools, pl::worker::current_environment()));
  executors.add("data_transform", std::make_unique<pl::worker::DataTransformExecutor>());
  executors.add("file_ops", std::make_unique<pl::worker::FileOpsExecutor>());
  auto llm = pl::worker::llm::load_llm_services(
      config_path, clock, pl::worker::providers::process_environment(),
      std::make_unique<pl::worker::llm::RegistryToolInvoker>(tools, pl::worker::current_environment()),
      std::make_unique<pl::worker::llm::RegistrySessionStore>(registry));
  if (!llm.ok()) {
    spdlog::error("{}", llm.error().message);
    return 2;
  }
  pl::worker::llm::add_llm_executors(executors, *llm);

  pl::net::Context context;
  pl::worker::WorkerIdentity identity{config->name, ::getpid(), config->host, config->slots};
  pl::worker::WorkerCore core(identity, config->heartbeat, config->liveness, config->max_items);
  pl::worker::SlotPool pool(config->slots, executors, clock);
  pl::worker::BrokerLink link;
  if (config->curve && pl::net::is_network_endpoint(config->broker_endpoint)) {
    link.curve = config->curve->keys_for("broker_public_key");
  }
  pl::worker::WorkerShell shell(context, config->broker_endpoint, core, pool, clock, *signal_fd,
                                std::move(link));
  shell.set_stop_budget(stop_budget());

  pl::notify_ready();
  const int rc = shell.run();
  pl::notify_stopping();
  return rc;
}
