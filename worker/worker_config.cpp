#include "worker/worker_config.h"

#include <unistd.h>

#include "common/config/section_reader.h"
#include "common/state_paths.h"

namespace pl::worker {

Result<WorkerConfig> load_worker_config(const std::string& config_path) {
  WorkerConfig config;
  std::string state_dir_setting;
  if (!config_path.empty()) {
    auto doc = load_yaml_file(config_path);
    if (!doc.ok()) return std::move(doc).error();
    SectionReader r(*doc, "/worker",
                    {"slots", "broker_endpoint", "registry_endpoint", "heartbeat_ms", "liveness",
                     "max_items", "host", "curve"});
    config.slots = static_cast<uint32_t>(r.integer("slots", 1, 1, 4096));
    config.broker_endpoint = r.endpoint("broker_endpoint");
    config.registry_endpoint = r.endpoint("registry_endpoint");
    config.heartbeat = std::chrono::milliseconds(r.integer("heartbeat_ms", 1000, 10, 600000));
    config.liveness = static_cast<uint32_t>(r.integer("liveness", 3, 1, 1000));
    config.host = r.string("host");
    config.curve = net::read_curve_client(
        r, {{"broker_endpoint", config.broker_endpoint, "broker_public_key"},
            {"registry_endpoint", config.registry_endpoint, "registry_public_key"}});
    config.max_items = static_cast<uint64_t>(r.integer("max_items", 0, 0, INT64_MAX));
    if (auto st = r.status(); !st.ok()) return std::move(st).error();
    if (const Value* sup = doc->root().find("supervisor")) {
      state_dir_setting = sup->get_string("state_dir");
    }
  }
  config.state_dir = resolve_state_dir("", state_dir_setting);
  if (config.host.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    config.host = host;
  }
  if (const char* name = std::getenv(kChildNameEnv); name && *name) {
    config.name = name;
  } else {
    config.name = config.host + ":" + std::to_string(::getpid());
  }
  return config;
}

}  // namespace pl::worker
