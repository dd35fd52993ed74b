#include "broker/broker_config.h"

#include "common/config/section_reader.h"
#include "common/net/curve_config.h"
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
                     "clients_endpoint", "workers_endpoint", "max_running_runs", "cancel_grace_ms",
                     "max_outstanding_items", "providers", "synchronous", "deferred_sync",
                     "curve", "keep_finished_runs_hours", "max_retry_after_ms"});
    config.heartbeat = std::chrono::milliseconds(r.integer("heartbeat_ms", 1000, 10, 600000));
    config.liveness = static_cast<uint32_t>(r.integer("liveness", 3, 1, 1000));
    config.default_timeout_ms = r.integer("default_timeout_ms", 300000, 1, 7 * 24 * 3600 * 1000LL);
    config.default_max_parallel = static_cast<uint32_t>(r.integer("max_parallel", 8, 1, 100000));
    config.poison_threshold = static_cast<uint32_t>(r.integer("poison_threshold", 3, 1, 1000));
    config.deadline_grace = std::chrono::milliseconds(r.integer("deadline_grace_ms", 2000, 0, 600000));
    config.finished_runs_kept = static_cast<size_t>(r.integer("finished_runs_kept", 1000, 1, 1000000));
    // Hours, fractions allowed; 0 keeps finished runs forever.
    const double keep_hours = r.number("keep_finished_runs_hours", 24 * 30, 0, 24 * 365 * 100);
    config.retention.keep_finished =
        keep_hours == 0 ? std::nullopt
                        : std::optional(std::chrono::milliseconds(
                              std::max<int64_t>(1, static_cast<int64_t>(keep_hours * 3600000))));
    config.max_running_runs = static_cast<size_t>(r.integer("max_running_runs", 1000, 1, 1000000));
    config.cancel_grace = std::chrono::milliseconds(r.integer("cancel_grace_ms", 10000, 0, 3600000));
    config.max_retry_after =
        std::chrono::milliseconds(r.integer("max_retry_after_ms", 600000, 0, 86400000));
    config.max_outstanding_items =
        static_cast<size_t>(r.integer("max_outstanding_items", 20000, 1, 10000000));
    config.store.full_sync = r.choice("synchronous", "full", {"full", "normal"}) == "full";
    config.store.deferred_sync = r.boolean("deferred_sync", true);
    // providers: {NAME: {max_concurrency, failure_threshold, open_ms, half_open_probes}}; the
    // name "default" applies to providers not listed.
    const Value providers = r.value("providers");
    if (providers.is_object()) {
      std::vector<std::string_view> names;
      for (const auto& [name, settings] : providers.as_object()) names.push_back(name);
      SectionReader all = r.nested("providers", names);
      for (const auto& [name, settings] : providers.as_object()) {
        SectionReader p = all.nested(name, {"max_concurrency", "failure_threshold", "open_ms",
                                            "half_open_probes"});
        ProviderLimits limits;
        limits.max_concurrency = static_cast<uint32_t>(p.integer("max_concurrency", 0, 0, 100000));
        limits.breaker.failure_threshold =
            static_cast<uint32_t>(p.integer("failure_threshold", 5, 1, 100000));
        limits.breaker.open_for = std::chrono::milliseconds(p.integer("open_ms", 30000, 1, 86400000));
        limits.breaker.half_open_probes =
            static_cast<uint32_t>(p.integer("half_open_probes", 1, 1, 1000));
        (name == "default" ? config.default_provider : config.providers[name]) = limits;
      }
    } else if (!providers.is_null()) {
      r.fail("providers", "expected a mapping of provider name to limits");
    }
    config.default_llm_provider = read_default_llm_provider_only(r);
    config.clients_endpoint = r.endpoint("clients_endpoint");
    config.workers_endpoint = r.endpoint("workers_endpoint");
    config.curve = net::read_curve_server(r, {{"workers_endpoint", config.workers_endpoint},
                                              {"clients_endpoint", config.clients_endpoint}});
    if (auto st = r.status(); !st.ok()) return std::move(st).error();
    if (const Value* sup = doc->root().find("supervisor")) {
      state_dir_setting = sup->get_string("state_dir");
    }
  }
  config.state_dir = resolve_state_dir("", state_dir_setting);
  return config;
}

}  // namespace pl::broker
