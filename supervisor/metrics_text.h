// What /metrics and /health say, as pure functions of what the supervisor knows (its tree, its
// readings of the children's memory, its counters) and of the broker's status (or the lack of
// one). Every metric is documented in docs/metrics.md. No I/O here: the shell gathers the facts.
//
// A missing fact is left out, never written as a zero: no RSS sample for a child whose memory
// could not be read (its measure-error counter moves instead), no broker metric when the broker
// did not answer (pipeline_broker_up is 0 then).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/backup_dirs.h"
#include "common/value.h"
#include "supervisor/prometheus_text.h"

namespace pl::supervisor {

struct ChildReading {
  std::optional<uint64_t> rss_bytes;
  std::string error;  // when !rss_bytes
};

struct SupervisorFacts {
  Value tree;                                       // `status` as the control socket says it
  std::map<std::string, ChildReading> memory;       // children with a process, by full name
  std::map<std::string, uint64_t> events;           // events published, by kind
  std::map<std::string, uint64_t> memory_exceeded;  // kills for max_memory, by child
  std::map<std::string, uint64_t> measure_errors;   // failed memory readings, by child
  std::string memory_enforcement;                   // "cgroup" or "rss"
  std::map<std::pair<std::string, int>, uint64_t> http_requests;  // (path, status) -> count
  uint64_t http_refused = 0;                                      // connections over the limit
  uint64_t http_timed_out = 0;                                    // closed unanswered
  std::optional<BackupSummary> backups;  // STATE_DIR/backups; nullopt when it cannot be listed
};

struct BrokerFacts {
  bool probed = true;           // false: the tree runs no broker (a worker host)
  std::optional<Value> status;  // broker_status; nullopt when it did not answer
  std::string error;            // why not
  double seconds = 0;           // how long the answer took
  // Every host a worker reported in an earlier answer (see remember_worker_hosts): a host of
  // these with no worker now is exported as 0, so that an alert on 0 fires when it loses them.
  std::set<std::string> hosts_seen;
};

// Adds the hosts of `broker_status`'s workers to `seen`, which keeps at most kMaxHostsSeen (a
// host beyond them is exported only while it has workers).
inline constexpr size_t kMaxHostsSeen = 1024;
void remember_worker_hosts(const Value& broker_status, std::set<std::string>& seen);

std::string render_metrics(const SupervisorFacts& supervisor, const BrokerFacts& broker);

// /health: 200 when the tree is running and the broker answers, 503 otherwise; the body says
// which (JSON: {status, tree, broker, problems: [...]}).
struct HealthReport {
  int http_status = 503;
  Value body;
};
HealthReport health_report(const Value& tree, const BrokerFacts& broker);

// The bucket bounds of exported latency histograms, in seconds (+Inf is implied).
const std::vector<double>& latency_buckets_seconds();
// A histogram family's samples from a broker latency object {count, sum_us, buckets:
// [[upper_us, n], ...]} (our 12.5 % log-linear buckets), folded into latency_buckets_seconds():
// a fine bucket counts under the first bound at or above its upper end.
void write_latency_histogram(PrometheusText& out, const Labels& labels, const Value& latency);

}  // namespace pl::supervisor
