#include "registry/registry_config.h"

#include "common/config/section_reader.h"
#include "common/net/curve_config.h"
#include "common/state_paths.h"

namespace pl::registry {

Result<RegistryConfig> load_registry_config(const std::string& config_path) {
  RegistryConfig c;
  std::string state_dir_setting;
  if (!config_path.empty()) {
    auto doc = load_yaml_file(config_path);
    if (!doc.ok()) return std::move(doc).error();
    SectionReader r(
        *doc, "/registry",
        {"endpoint", "database", "synchronous", "deferred_sync", "busy_timeout_ms", "page_size",
         "wal_autocheckpoint_pages", "max_batch", "maintenance_interval_ms", "max_tool_bytes",
         "max_turn_bytes", "max_session_turns", "max_reply_bytes", "max_list",
         "keep_idle_sessions_days", "idempotency", "tcp_endpoint", "curve"});
    c.endpoint = r.endpoint("endpoint");
    c.tcp_endpoint = r.endpoint("tcp_endpoint");
    if (!c.tcp_endpoint.empty() && c.tcp_endpoint.rfind("tcp://", 0) != 0) {
      r.fail("tcp_endpoint", "expected tcp://ADDRESS:PORT");
    }
    c.curve =
        net::read_curve_server(r, {{"endpoint", c.endpoint}, {"tcp_endpoint", c.tcp_endpoint}});
    c.database = r.string("database");
    c.store.sync = r.choice("synchronous", "full", {"full", "normal"}) == "normal" ? SyncMode::kNormal
                                                                                  : SyncMode::kFull;
    c.store.deferred_sync = r.boolean("deferred_sync", false);
    if (c.store.deferred_sync && c.store.sync == SyncMode::kNormal) {
      r.fail("deferred_sync", "applies only with synchronous: full (normal syncs at checkpoints only)");
    }
    c.store.busy_timeout_ms = static_cast<int>(r.integer("busy_timeout_ms", 2000, 0, 600'000));
    c.store.wal_autocheckpoint_pages =
        static_cast<int>(r.integer("wal_autocheckpoint_pages", 1000, 0, 1'000'000));
    c.store.page_size = static_cast<int>(r.integer("page_size", c.store.page_size, 512, 65536));
    if ((c.store.page_size & (c.store.page_size - 1)) != 0) r.fail("page_size", "must be a power of two");
    c.max_batch = static_cast<int>(r.integer("max_batch", 1024, 1, 65536));
    c.maintenance_interval_ms = r.integer("maintenance_interval_ms", 60'000, 100, 86'400'000);
    RegistryLimits& l = c.limits;
    l.max_tool_bytes = r.integer("max_tool_bytes", l.max_tool_bytes, 1024, 16 << 20);
    l.max_turn_bytes = r.integer("max_turn_bytes", l.max_turn_bytes, 1024, 8 << 20);
    l.max_session_turns = r.integer("max_session_turns", l.max_session_turns, 1, 100'000'000);
    l.max_reply_bytes = r.integer("max_reply_bytes", l.max_reply_bytes, 1024, 15 << 20);
    l.max_list = r.integer("max_list", l.max_list, 1, 1'000'000);
    l.keep_idle_sessions_ms =
        r.integer("keep_idle_sessions_days", 0, 0, 36'500) * 24LL * 3600 * 1000;
    SectionReader ids = r.nested("idempotency", {"keep_ids", "min_age_s", "ttl_s"});
    l.keep_applied_ids = ids.integer("keep_ids", l.keep_applied_ids, 0, 100'000'000);
    l.min_applied_age_ms = ids.integer("min_age_s", l.min_applied_age_ms / 1000, 1, 86'400) * 1000;
    l.applied_ttl_ms = ids.integer("ttl_s", l.applied_ttl_ms / 1000, 1, 30 * 86'400) * 1000;
    if (l.applied_ttl_ms < l.min_applied_age_ms) {
      ids.fail("ttl_s", "must not be shorter than min_age_s");
    }
    if (auto st = r.status(); !st.ok()) return std::move(st).error();
    if (const Value* sup = doc->root().find("supervisor")) {
      state_dir_setting = sup->get_string("state_dir");
    }
  }
  c.state_dir = resolve_state_dir("", state_dir_setting);
  return c;
}

}  // namespace pl::registry
