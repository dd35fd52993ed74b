#include "supervisor/metrics_text.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace pl::supervisor {
namespace {

struct FlatChild {
  const Value* v;
  std::string name;
  std::string type;
};

void flatten(const Value& node, std::vector<FlatChild>& out) {
  const Value* kids = node.find("children");
  if (kids == nullptr || !kids->is_array()) return;
  for (const Value& k : kids->as_array()) {
    out.push_back({&k, k.get_string("name"), k.get_string("type")});
    flatten(k, out);
  }
}

double num(const Value* v) {
  if (v == nullptr) return 0;
  if (v->is_int()) return static_cast<double>(v->as_int());
  if (v->is_double()) return v->as_double();
  return 0;
}

// A gauge or counter from a member of an object, only when the member is there.
void from_member(PrometheusText& p, const Value& obj, std::string_view key,
                 const Labels& labels = {}, double divisor = 1.0) {
  if (const Value* v = obj.find(key); v != nullptr && v->is_number()) {
    p.sample(labels, num(v) / divisor);
  }
}

void write_supervisor(PrometheusText& p, const SupervisorFacts& f) {
  const Value& tree = f.tree;
  std::vector<FlatChild> children;
  flatten(tree, children);

  p.family("pipeline_supervisor_info", "gauge",
           "Always 1; labels name the tree and how max_memory is enforced (cgroup or rss).");
  p.sample({{"tree", tree.get_string("name")}, {"memory_enforcement", f.memory_enforcement}}, 1);
  p.family("pipeline_supervisor_uptime_seconds", "gauge", "Seconds since the tree started.");
  from_member(p, tree, "uptime_ms", {}, 1000.0);
  p.family("pipeline_tree_up", "gauge",
           "1 when the root supervisor is running (all started), else 0.");
  p.sample({}, tree.get_string("state") == "running" ? 1 : 0);

  p.family("pipeline_child_up", "gauge",
           "1 when the child is running, 0 when starting, stopping, stopped or restarting.");
  for (const auto& c : children) {
    p.sample({{"child", c.name}, {"type", c.type}}, c.v->get_string("state") == "running" ? 1 : 0);
  }
  p.family("pipeline_child_restarts_total", "counter",
           "Restarts of the child by its supervisor since this supervisor process started.");
  for (const auto& c : children) p.sample({{"child", c.name}}, num(c.v->find("restarts")));
  p.family("pipeline_child_uptime_seconds", "gauge",
           "Seconds since the child's current process started.");
  for (const auto& c : children) {
    if (c.v->get_string("state") != "stopped") {
      p.sample({{"child", c.name}}, num(c.v->find("uptime_ms")) / 1000.0);
    }
  }
  p.family("pipeline_child_resident_memory_bytes", "gauge",
           "Resident set (VmRSS) of the child's main process; absent when it could not be read.");
  for (const auto& c : children) {
    auto it = f.memory.find(c.name);
    if (it != f.memory.end() && it->second.rss_bytes) {
      p.sample({{"child", c.name}}, static_cast<double>(*it->second.rss_bytes));
    }
  }
  p.family("pipeline_child_memory_limit_bytes", "gauge", "The child's max_memory.");
  for (const auto& c : children) {
    if (c.v->find("max_memory")) p.sample({{"child", c.name}}, num(c.v->find("max_memory")));
  }
  p.family("pipeline_child_memory_exceeded_total", "counter",
           "Times the child was killed for exceeding max_memory (RSS watch or the cgroup's OOM "
           "killer).");
  for (const auto& [child, n] : f.memory_exceeded) {
    p.sample({{"child", child}}, static_cast<double>(n));
  }
  p.family("pipeline_memory_measure_errors_total", "counter",
           "Readings of a child's memory that failed (watch and scrapes); never counted as zero.");
  for (const auto& [child, n] : f.measure_errors) {
    p.sample({{"child", child}}, static_cast<double>(n));
  }

  p.family("pipeline_pool_members", "gauge", "Members a pool has now.");
  for (const auto& c : children) {
    if (c.type != "pool") continue;
    const Value* members = c.v->find("children");
    p.sample({{"pool", c.name}}, static_cast<double>(members ? members->size() : 0));
  }
  p.family("pipeline_pool_members_wanted", "gauge", "Members a pool should have (its count).");
  for (const auto& c : children) {
    if (c.type == "pool") p.sample({{"pool", c.name}}, num(c.v->find("count")));
  }
  p.family("pipeline_supervisor_events_total", "counter", "Lifecycle events published, by kind.");
  for (const auto& [kind, n] : f.events) p.sample({{"kind", kind}}, static_cast<double>(n));
  p.family("pipeline_http_requests_total", "counter",
           "Requests to this endpoint, by path and status (refused heads count as path other).");
  for (const auto& [key, n] : f.http_requests) {
    p.sample({{"path", key.first}, {"code", std::to_string(key.second)}}, static_cast<double>(n));
  }
  p.family("pipeline_http_connections_refused_total", "counter",
           "Connections answered 503 at once because max_connections were open.");
  p.sample({}, static_cast<double>(f.http_refused));
  p.family("pipeline_http_connections_timed_out_total", "counter",
           "Connections closed unanswered: no whole request in time, or no answer in time.");
  p.sample({}, static_cast<double>(f.http_timed_out));
}

void write_broker(PrometheusText& p, const Value& b, const BrokerFacts& broker) {
  const Value* counters = b.find("counters");
  const Value empty = Value::object();
  const Value& c = counters && counters->is_object() ? *counters : empty;

  p.family("pipeline_broker_scrape_duration_seconds", "gauge",
           "How long the broker took to answer this scrape.");
  p.sample({}, broker.seconds);
  p.family("pipeline_runs_running", "gauge", "Runs the broker is running now.");
  from_member(p, b, "runs_running");
  p.family("pipeline_runs_accepted_total", "counter", "Runs submitted and accepted.");
  from_member(p, c, "runs_accepted");
  p.family("pipeline_runs_recovered_total", "counter",
           "Runs taken up again after a broker restart.");
  from_member(p, c, "runs_recovered");
  p.family("pipeline_runs_resumed_total", "counter",
           "Runs started again by a resume: each finishes once more, so accepted, recovered "
           "and resumed add up to finished and running.");
  from_member(p, c, "runs_resumed");
  p.family("pipeline_runs_submitted_again_total", "counter",
           "Submissions answered with the run already accepted under their idempotency key "
           "(a client's retry): not run again, not counted as accepted.");
  from_member(p, c, "runs_submitted_again");
  p.family("pipeline_runs_finished_total", "counter", "Runs finished, by final state.");
  from_member(p, c, "runs_succeeded", {{"state", "succeeded"}});
  from_member(p, c, "runs_failed", {{"state", "failed"}});
  from_member(p, c, "runs_cancelled", {{"state", "cancelled"}});

  struct Counter {
    const char* name;
    const char* key;
    const char* help;
  };
  static const Counter kCounters[] = {
      {"pipeline_items_dispatched_total", "dispatched", "Attempts sent to workers."},
      {"pipeline_items_succeeded_total", "completed", "Items finished successfully."},
      {"pipeline_items_failed_total", "failed",
       "Items finished unsuccessfully (after their retries)."},
      {"pipeline_items_retried_total", "retried", "Failed attempts that were retried."},
      {"pipeline_items_dead_lettered_total", "dead_letters",
       "Items given up and put on the dead-letter list."},
      {"pipeline_items_redelivered_total", "redelivered",
       "Items sent again because their worker died or left."},
      {"pipeline_items_timed_out_total", "timeouts", "Attempts that passed their deadline."},
      {"pipeline_items_queue_timed_out_total", "queue_timeouts",
       "Queued items failed because no worker was connected for their whole timeout."},
      {"pipeline_attempts_refused_total", "refused",
       "Attempts a worker refused for want of a free slot (its count and the broker's "
       "disagreed), sent again."},
      {"pipeline_items_poisoned_total", "poisoned",
       "Items given up after killing workers repeatedly."},
      {"pipeline_items_adopted_total", "adopted",
       "Items a worker still held across a broker restart, taken over."},
      {"pipeline_items_moved_to_new_connection_total", "moved_to_new_connection",
       "Running items of a worker that reconnected, moved to its new connection."},
      {"pipeline_items_undelivered_total", "undelivered",
       "Items the worker socket could not send, queued again."},
      {"pipeline_attempts_stale_cancelled_total", "stale_attempts_cancelled",
       "Given-up attempts a worker back from silence still ran, cancelled."},
      {"pipeline_items_circuit_rejected_total", "circuit_rejections",
       "Attempts failed fast by an open circuit."},
      {"pipeline_items_oversized_total", "oversized_items",
       "Items whose input was too large for a message to a worker, failed as too_large."},
      {"pipeline_results_stale_total", "stale_results",
       "Results for an attempt no longer current, discarded."},
      {"pipeline_workers_killed_total", "workers_killed",
       "Workers replaced for not letting go of a cancelled item."},
      {"pipeline_broker_store_errors_total", "store_errors",
       "Failed reads or writes of broker.db."},
      {"pipeline_broker_unroutable_total", "unroutable",
       "Messages the broker could not deliver (peer gone or full)."},
      {"pipeline_runs_expired_total", "runs_expired",
       "Finished runs deleted for their age (broker.keep_finished_runs_hours)."},
      {"pipeline_broker_retention_errors_total", "retention_errors",
       "Failures to list, delete or free old runs in broker.db (tried again later)."},
  };
  for (const Counter& k : kCounters) {
    p.family(k.name, "counter", k.help);
    from_member(p, c, k.key);
  }
  p.family("pipeline_broker_bad_frames_total", "counter",
           "Frames dropped as undecodable, by socket.");
  from_member(p, c, "bad_worker_frames", {{"socket", "workers"}});
  from_member(p, c, "bad_client_frames", {{"socket", "clients"}});
  // Only a broker with tcp:// endpoints (CURVE) reports these (docs/multi-host.md).
  p.family("pipeline_broker_curve_clients_total", "counter",
           "CURVE handshakes on tcp:// endpoints, one per connection attempt, by outcome: "
           "allowed, refused (by the allow-list), handshake_failed (plaintext, or a wrong "
           "server key).");
  from_member(p, c, "curve_allowed", {{"outcome", "allowed"}});
  from_member(p, c, "curve_refused", {{"outcome", "refused"}});
  from_member(p, c, "curve_handshake_failures", {{"outcome", "handshake_failed"}});

  p.family("pipeline_items_queued", "gauge", "Items waiting for a worker.");
  from_member(p, b, "queued");
  p.family("pipeline_items_in_flight", "gauge", "Items a worker is running.");
  from_member(p, b, "in_flight");
  p.family("pipeline_items_waiting_retry", "gauge", "Items waiting out a retry backoff.");
  from_member(p, b, "waiting_retry");
  p.family("pipeline_items_outstanding", "gauge",
           "Items without a final outcome (queued + in flight + waiting retry).");
  from_member(p, b, "outstanding");

  const Value* workers = b.find("workers");
  if (workers && workers->is_array()) {
    int64_t slots = 0, busy = 0, draining = 0;
    std::map<std::string, int64_t> per_host;
    for (const std::string& host : broker.hosts_seen) per_host[host] = 0;
    for (const Value& w : workers->as_array()) {
      if (const std::string host = w.get_string("host"); !host.empty()) ++per_host[host];
      slots += w.get_int("slots");
      const Value* held = w.find("held");
      busy += held ? static_cast<int64_t>(held->size()) : 0;
      draining += w.get_bool("draining") ? 1 : 0;
    }
    p.family("pipeline_workers_connected", "gauge", "Workers connected to the broker.");
    p.sample({}, static_cast<double>(workers->size()));
    p.family("pipeline_host_workers_connected", "gauge",
             "Workers connected to the broker, by the host they report (worker.host).");
    for (const auto& [host, n] : per_host) p.sample({{"host", host}}, static_cast<double>(n));
    p.family("pipeline_workers_draining", "gauge",
             "Workers finishing their last items before they recycle (max_items).");
    p.sample({}, static_cast<double>(draining));
    p.family("pipeline_worker_slots", "gauge", "Slots the connected workers offer.");
    p.sample({}, static_cast<double>(slots));
    p.family("pipeline_worker_slots_busy", "gauge", "Slots holding an item.");
    p.sample({}, static_cast<double>(busy));
  }

  if (const Value* latency = b.find("item_latency"); latency && latency->is_object()) {
    p.family("pipeline_item_latency_seconds", "histogram",
             "Time from an attempt's dispatch to its result (bucket bounds within 12.5 %).");
    write_latency_histogram(p, {}, *latency);
  }

  const Value* providers = b.find("providers");
  if (providers && providers->is_object() && providers->size() > 0) {
    const auto& map = providers->as_object();
    p.family(
        "pipeline_provider_circuit_state", "gauge",
        "1 for the provider's circuit breaker state (closed, open, half_open), 0 for the others.");
    for (const auto& [name, v] : map) {
      const std::string state = v.get_string("state");
      for (const char* s : {"closed", "open", "half_open"}) {
        p.sample({{"provider", name}, {"state", s}}, state == s ? 1 : 0);
      }
    }
    p.family("pipeline_provider_in_flight", "gauge", "Items calling the provider now.");
    for (const auto& [name, v] : map) from_member(p, v, "in_flight", {{"provider", name}});
    p.family("pipeline_provider_max_concurrency", "gauge",
             "The provider's concurrency limit (0: none).");
    for (const auto& [name, v] : map) from_member(p, v, "max_concurrency", {{"provider", name}});
    p.family("pipeline_provider_consecutive_failures", "gauge",
             "Failures in a row, as the breaker counts them.");
    for (const auto& [name, v] : map) {
      from_member(p, v, "consecutive_failures", {{"provider", name}});
    }
    p.family("pipeline_provider_circuit_opened_total", "counter",
             "Times the provider's breaker opened.");
    for (const auto& [name, v] : map) from_member(p, v, "times_opened", {{"provider", name}});
    p.family("pipeline_provider_results_total", "counter",
             "Attempts that reported back, by provider.");
    for (const auto& [name, v] : map) from_member(p, v, "results", {{"provider", name}});
    p.family("pipeline_provider_errors_total", "counter",
             "Attempts that failed, by provider and error code.");
    for (const auto& [name, v] : map) {
      if (const Value* codes = v.find("errors_by_code"); codes && codes->is_object()) {
        for (const auto& [code, n] : codes->as_object()) {
          p.sample({{"provider", name}, {"code", code}}, num(&n));
        }
      }
    }
    p.family("pipeline_provider_latency_seconds", "histogram",
             "Time from dispatch to result of attempts that call the provider.");
    for (const auto& [name, v] : map) {
      if (const Value* latency = v.find("latency"); latency && latency->is_object()) {
        write_latency_histogram(p, {{"provider", name}}, *latency);
      }
    }
  }
}

// The backups `pipelinectl backup` left in the state directory, for an alert on their age. Read
// from the disk, not asked of the broker: they outlive its restarts.
void write_backups(PrometheusText& p, const std::optional<BackupSummary>& backups) {
  if (!backups) return;
  p.family("pipeline_backups_complete", "gauge",
           "Backup directories in STATE_DIR/backups holding both broker.db and registry.db.");
  p.sample({}, static_cast<double>(backups->complete));
  if (!backups->newest) return;
  p.family("pipeline_backup_newest_timestamp_seconds", "gauge",
           "Unix time the newest of those was made (its name); absent when there is none.");
  p.sample({}, static_cast<double>(unix_millis(*backups->newest)) / 1000.0);
}

}  // namespace

const std::vector<double>& latency_buckets_seconds() {
  static const std::vector<double> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10,
                                              30,     60,    120,    300,   600};
  return kBounds;
}

void write_latency_histogram(PrometheusText& out, const Labels& labels, const Value& latency) {
  const auto& bounds = latency_buckets_seconds();
  std::vector<double> counts(bounds.size(), 0);
  if (const Value* buckets = latency.find("buckets"); buckets && buckets->is_array()) {
    for (const Value& b : buckets->as_array()) {
      if (!b.is_array() || b.size() != 2) continue;
      const double upper_s = num(&b.as_array()[0]) / 1e6;
      const double n = num(&b.as_array()[1]);
      for (size_t i = 0; i < bounds.size(); ++i) {
        if (upper_s <= bounds[i] * (1 + 1e-12)) {
          counts[i] += n;
          break;
        }
      }
    }
  }
  double cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    Labels l = labels;
    l.emplace_back("le", PrometheusText::number(bounds[i]));
    out.sample(l, cumulative, "_bucket");
  }
  Labels inf = labels;
  inf.emplace_back("le", "+Inf");
  const double count = num(latency.find("count"));
  out.sample(inf, count, "_bucket");
  out.sample(labels, num(latency.find("sum_us")) / 1e6, "_sum");
  out.sample(labels, count, "_count");
}

void remember_worker_hosts(const Value& broker_status, std::set<std::string>& seen) {
  const Value* workers = broker_status.find("workers");
  if (!workers || !workers->is_array()) return;
  for (const Value& w : workers->as_array()) {
    const std::string host = w.get_string("host");
    if (!host.empty() && seen.size() < kMaxHostsSeen) seen.insert(host);
  }
}

std::string render_metrics(const SupervisorFacts& supervisor, const BrokerFacts& broker) {
  PrometheusText p;
  write_supervisor(p, supervisor);
  if (!broker.probed) return p.take();  // a worker host: its broker's metrics are elsewhere
  p.family("pipeline_broker_up", "gauge",
           "1 when the broker answered this scrape's status request in time; its metrics are "
           "absent otherwise.");
  p.sample({}, broker.status ? 1 : 0);
  write_backups(p, supervisor.backups);
  if (broker.status) write_broker(p, *broker.status, broker);
  return p.take();
}

HealthReport health_report(const Value& tree, const BrokerFacts& broker) {
  HealthReport r;
  Value problems = Value::array();
  const std::string state = tree.get_string("state");
  if (state != "running") problems.push_back("the tree is " + state);
  if (broker.probed && !broker.status) {
    problems.push_back("the broker did not answer: " + broker.error);
  }
  std::vector<FlatChild> children;
  flatten(tree, children);
  Value down = Value::array();
  for (const auto& c : children) {
    if (c.type == "worker" && c.v->get_string("state") != "running") down.push_back(c.name);
  }
  r.http_status = problems.size() == 0 ? 200 : 503;
  r.body = Value::object();
  r.body["status"] = r.http_status == 200 ? "ok" : "unavailable";
  r.body["tree"] = state;
  r.body["broker"] = !broker.probed ? "none" : broker.status ? "up" : "down";
  r.body["problems"] = std::move(problems);
  r.body["not_running"] = std::move(down);  // for information: a restarting worker is normal
  if (broker.status) {
    const Value* workers = broker.status->find("workers");
    r.body["workers"] = static_cast<int64_t>(workers ? workers->size() : 0);
    r.body["runs_running"] = broker.status->get_int("runs_running");
  }
  return r;
}

}  // namespace pl::supervisor
