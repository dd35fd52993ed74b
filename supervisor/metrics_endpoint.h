// The supervisor's HTTP endpoint: GET /metrics (Prometheus text 0.0.4) and GET /health (JSON;
// 200 or 503), served from the shell's poll loop (docs/metrics.md).
//
// A scrape needs the broker's status: the endpoint asks for it (BrokerProbe, one round shared by
// every request that arrives meanwhile, bounded by metrics.broker_timeout_ms) and answers the
// waiting requests when the reply or the deadline comes, so the loop never waits on a client or
// on the broker. The supervisor's own facts are gathered (FactsSource) when the answers are
// written. Off unless supervisor.metrics.listen (or --metrics-listen) is set; when it is off,
// nothing of this exists and the supervisor stays idle-cheap.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/net/zmq_socket.h"
#include "common/result.h"
#include "supervisor/broker_probe.h"
#include "supervisor/child_spec.h"
#include "supervisor/http_server.h"
#include "supervisor/metrics_text.h"

namespace pl::supervisor {

class MetricsEndpoint {
 public:
  using FactsSource = std::function<SupervisorFacts()>;

  // Listens on `address` (already checked against allow_remote by the config loader).
  // `broker_endpoint` "" = the tree runs no broker (a worker host): nothing is probed, /health
  // depends on the tree alone and pipeline_broker_up is absent.
  static Result<std::unique_ptr<MetricsEndpoint>> start(const ListenAddress& address,
                                                        const MetricsSpec& spec,
                                                        net::Context& context,
                                                        std::string broker_endpoint,
                                                        FactsSource facts);

  const ListenAddress& bound() const { return server_->bound(); }

  // Appends what to poll to `entries` and remembers where; after_poll reads the same slice.
  void add_poll_entries(std::vector<net::PollEntry>& entries);
  // Call after every poll, ready or not: reads, answers, expires.
  void after_poll(const std::vector<net::PollEntry>& entries, TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  // Requests answered, by (path, status): the endpoint's answers and the server's own to heads
  // it refused (400, 405, 431), which count under the path "other".
  std::map<std::pair<std::string, int>, uint64_t> requests() const;
  uint64_t refused() const { return server_->counters().refused_busy; }
  uint64_t timed_out() const { return server_->counters().timed_out; }

 private:
  struct Waiting {
    HttpServer::ConnectionId id;
    std::string path;
  };
  MetricsEndpoint(std::unique_ptr<HttpServer> server, std::optional<BrokerProbe> probe,
                  FactsSource facts)
      : server_(std::move(server)), probe_(std::move(probe)), facts_(std::move(facts)) {}
  void route(HttpServer::ConnectionId id, const HttpRequest& request, TimePoint now);
  // `outcome` nullopt: there is no broker to ask.
  void answer_waiting(const std::optional<BrokerProbe::Outcome>& outcome, TimePoint now);
  void respond(HttpServer::ConnectionId id, const std::string& path, const HttpResponse& r,
               TimePoint now);

  std::unique_ptr<HttpServer> server_;
  std::optional<BrokerProbe> probe_;  // none without a broker in the tree
  FactsSource facts_;
  std::vector<Waiting> waiting_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  // The hosts of every worker the broker reported since this endpoint (and so the supervisor)
  // started: one that has none now is exported at 0 (metrics_text.h).
  std::set<std::string> hosts_seen_;
  size_t first_entry_ = 0;
  std::vector<int> polled_fds_;
};

}  // namespace pl::supervisor
