#include "broker/broker_config.h"

#include "common/config/section_reader.h"
#include "common/state_paths.h"

namespace pl::broker {

Result<BrokerConfig> load_broker_config(const std::string& config_path) {
  BrokerConfig config;
  std::string state_dir_setting;
  if (!config_path.empty()) {
    auto doc = load_yaml_file(config_path);
    if (!doc.ok()) return std::move(doc).error();
    SectionReader r(*doc, "/broker",
                    {"heartbeat_ms", "liveness", "default_timeout_ms", "max_parallel",
                     "poison_threshold", "deadline_grace_ms", "finished_runs_kept",
                     "clients_endpoint", "workers_endpoint", "max_running_runs"});
    config.heartbeat = std::chrono::milliseconds(r.integer("heartbeat_ms", 1000, 10, 600000));
    config.liveness = static_cast<uint32_t>(r.integer("liveness", 3, 1, 1000));
    config.default_timeout_ms = r.integer("default_timeout_ms", 300000, 1, 7 * 24 * 3600 * 1000LL);
    config.default_max_parallel = static_cast<uint32_t>(r.integer("max_parallel", 8, 1, 100000));
    config.poison_threshold = static_cast<uint32_t>(r.integer("poison_threshold", 3, 1, 1000));
    config.deadline_grace = std::chrono::milliseconds(r.integer("deadline_grace_ms", 2000, 0, 600000));
    config.finished_runs_kept = static_cast<size_t>(r.integer("finished_runs_kept", 1000, 1, 1000000));
    config.max_running_runs = static_cast<size_t>(r.integer("max_running_runs", 1000, 1, 1000000));
    config.clients_endpoint = r.string("clients_endpoint");
    config.workers_endpoint = r.string("workers_endpoint");
    if (auto st = r.status(); !st.ok()) return std::move(st).error();
    if (const Value* sup = doc->root().find("supervisor")) {
      state_dir_setting = sup->get_string("state_dir");
    }
  }
  config.state_dir = resolve_state_dir("", state_dir_setting);
  return config;
}

}  // namespace pl::broker
