#include "supervisor/metrics_endpoint.h"

#include "common/json.h"

namespace pl::supervisor {
namespace {

// Connections waiting for the broker, at most; more are answered 503 at once.
constexpr size_t kMaxWaiting = 256;

const char* const kIndex =
    "pipeline-supervisor\n"
    "  /metrics  Prometheus text format 0.0.4\n"
    "  /health   200 when the tree runs and the broker answers, 503 otherwise (JSON)\n";

}  // namespace

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::start(const ListenAddress& address,
                                                                const MetricsSpec& spec,
                                                                net::Context& context,
                                                                std::string broker_endpoint,
                                                                FactsSource facts) {
  HttpLimits limits;
  limits.max_connections = static_cast<size_t>(spec.max_connections);
  // A scrape must be answered well after the broker's deadline has passed.
  limits.response_timeout =
      std::chrono::milliseconds(spec.broker_timeout_ms) + std::chrono::seconds(5);
  auto server = HttpServer::listen(address, limits);
  if (!server.ok()) return std::move(server).error();
  std::optional<BrokerProbe> probe;
  if (!broker_endpoint.empty()) {
    probe.emplace(context, std::move(broker_endpoint),
                  std::chrono::milliseconds(spec.broker_timeout_ms));
  }
  return std::unique_ptr<MetricsEndpoint>(
      new MetricsEndpoint(std::move(*server), std::move(probe), std::move(facts)));
}

std::map<std::pair<std::string, int>, uint64_t> MetricsEndpoint::requests() const {
  std::map<std::pair<std::string, int>, uint64_t> all = requests_;
  for (const auto& [status, n] : server_->counters().bad_by_status) all[{"other", status}] += n;
  return all;
}

void MetricsEndpoint::add_poll_entries(std::vector<net::PollEntry>& entries) {
  first_entry_ = entries.size();
  polled_fds_ = server_->poll_fds();
  for (int fd : polled_fds_) entries.push_back({nullptr, fd, false});
  if (void* socket = probe_ ? probe_->socket() : nullptr) entries.push_back({socket, -1, false});
}

void MetricsEndpoint::after_poll(const std::vector<net::PollEntry>& entries, TimePoint now) {
  std::vector<int> ready;
  for (size_t i = 0; i < polled_fds_.size() && first_entry_ + i < entries.size(); ++i) {
    if (entries[first_entry_ + i].readable) ready.push_back(polled_fds_[i]);
  }
  polled_fds_.clear();
  if (!ready.empty()) server_->on_readable(ready, now);
  for (auto& [id, request] : server_->take_requests()) route(id, request, now);
  if (!probe_) {
    if (!waiting_.empty()) answer_waiting(std::nullopt, now);
  } else if (auto outcome = probe_->poll(now)) {
    answer_waiting(*outcome, now);
  }
  server_->on_timer(now);
}

std::optional<TimePoint> MetricsEndpoint::next_deadline() const {
  std::optional<TimePoint> next = server_->next_deadline();
  if (auto d = probe_ ? probe_->deadline() : std::nullopt; d && (!next || *d < *next)) next = d;
  return next;
}

void MetricsEndpoint::route(HttpServer::ConnectionId id, const HttpRequest& request,
                            TimePoint now) {
  if (request.path == "/metrics" || request.path == "/health") {
    if (waiting_.size() >= kMaxWaiting) {
      HttpResponse busy;
      busy.status = 503;
      busy.body = "too many scrapes waiting for the broker\n";
      respond(id, request.path, busy, now);
      return;
    }
    waiting_.push_back({id, request.path});
    if (!probe_) {
      answer_waiting(std::nullopt, now);
      return;
    }
    probe_->ask(now);
    if (auto outcome = probe_->poll(now)) answer_waiting(*outcome, now);
    return;
  }
  HttpResponse r;
  if (request.path == "/") {
    r.body = kIndex;
  } else {
    r.status = 404;
    r.body = "not found: try /metrics or /health\n";
  }
  respond(id, request.path, r, now);
}

void MetricsEndpoint::answer_waiting(const std::optional<BrokerProbe::Outcome>& outcome,
                                     TimePoint now) {
  if (waiting_.empty()) return;
  BrokerFacts broker;
  broker.probed = outcome.has_value();
  if (outcome) {
    broker.status = outcome->status;
    broker.error = outcome->error;
    broker.seconds = outcome->seconds;
    if (broker.status) remember_worker_hosts(*broker.status, hosts_seen_);
    broker.hosts_seen = hosts_seen_;
  }
  const SupervisorFacts facts = facts_();
  std::optional<HttpResponse> metrics, health;
  for (const Waiting& w : std::exchange(waiting_, {})) {
    if (w.path == "/metrics") {
      if (!metrics) {
        metrics.emplace();
        metrics->content_type = "text/plain; version=0.0.4; charset=utf-8";
        metrics->body = render_metrics(facts, broker);
      }
      respond(w.id, w.path, *metrics, now);
    } else {
      if (!health) {
        HealthReport report = health_report(facts.tree, broker);
        health.emplace();
        health->status = report.http_status;
        health->content_type = "application/json";
        health->body = to_json(report.body) + "\n";
      }
      respond(w.id, w.path, *health, now);
    }
  }
}

void MetricsEndpoint::respond(HttpServer::ConnectionId id, const std::string& path,
                              const HttpResponse& r, TimePoint now) {
  const bool known = path == "/metrics" || path == "/health" || path == "/";
  ++requests_[{known ? path : "other", r.status}];
  server_->respond(id, r, now);
}

}  // namespace pl::supervisor
