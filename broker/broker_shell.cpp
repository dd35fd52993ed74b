#include "broker/broker_shell.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include "common/protocol/client.h"
#include "common/protocol/control.h"
#include "common/signals.h"

namespace pl::broker {

using protocol::MessageType;

namespace {
// Messages taken from one socket per turn, so that a flood on one cannot starve the others.
constexpr int kBatchPerSocket = 2048;
constexpr size_t kMaxWatchersPerRun = 1024;
}  // namespace

BrokerShell::BrokerShell(net::Context& context, const BrokerConfig& config, Dispatcher& dispatcher,
                         RunCoordinator& coordinator, const Clock& clock, int signal_fd)
    : context_(context),
      config_(config),
      dispatcher_(dispatcher),
      coordinator_(coordinator),
      clock_(clock),
      signal_fd_(signal_fd),
      clients_(context_, net::SocketKind::kRouter),
      workers_(context_, net::SocketKind::kRouter),
      events_(context_, net::SocketKind::kSub) {}

Status BrokerShell::bind(const BrokerEndpoints& endpoints) {
  if (auto st = workers_.bind(endpoints.workers); !st.ok()) return st;
  if (auto st = clients_.bind(endpoints.clients); !st.ok()) return st;
  if (!endpoints.supervisor_events.empty()) {
    if (auto st = events_.connect(endpoints.supervisor_events); !st.ok()) return st;
    if (auto st = events_.subscribe("child.exited"); !st.ok()) return st;
    listening_to_events_ = true;
  }
  return ok_status();
}

void BrokerShell::drain_workers() {
  for (int n = 0; n < kBatchPerSocket; ++n) {
    auto frames = workers_.receive();
    if (!frames.ok()) {
      spdlog::error("worker socket: {}", frames.error().message);
      return;
    }
    if (!frames->has_value()) return;
    auto& parts = **frames;
    const TimePoint now = clock_.now();
    if (parts.size() != 2) {
      bad_worker_frames_.record(parts.empty() ? "" : parts[0],
                                "expected 2 frames, got " + std::to_string(parts.size()), now);
      continue;
    }
    auto message = protocol::decode(parts[1]);
    if (!message.ok()) {
      bad_worker_frames_.record(parts[0], message.error().message, now);
      continue;
    }
    dispatcher_.on_worker_message(parts[0], *message, now);
  }
}

void BrokerShell::drain_events() {
  for (int n = 0; n < kBatchPerSocket; ++n) {
    auto frames = events_.receive();
    if (!frames.ok() || !frames->has_value()) return;
    auto& parts = **frames;
    if (parts.size() != 2) continue;
    auto message = protocol::decode(parts[1]);
    if (!message.ok()) continue;
    auto event = protocol::child_event_from(message->body);
    if (!event.ok() || event->kind != "exited" || event->pid <= 0) continue;
    dispatcher_.on_process_exited(event->pid, clock_.now());
  }
}

void BrokerShell::drain_clients() {
  for (int n = 0; n < kBatchPerSocket; ++n) {
    auto frames = clients_.receive();
    if (!frames.ok()) {
      spdlog::error("client socket: {}", frames.error().message);
      return;
    }
    if (!frames->has_value()) return;
    auto& parts = **frames;
    if (parts.size() != 2) {
      bad_client_frames_.record(parts.empty() ? "" : parts[0],
                                "expected 2 frames, got " + std::to_string(parts.size()),
                                clock_.now());
      continue;
    }
    auto message = protocol::decode(parts[1]);
    if (!message.ok()) {
      bad_client_frames_.record(parts[0], message.error().message, clock_.now());
      reply_error(parts[0], "", message.error());
      continue;
    }
    handle_client(parts[0], *message);
  }
}

void BrokerShell::reply(const std::string& identity, MessageType type, const Value& body) {
  auto sent = clients_.send({identity, protocol::encode(type, body)});
  if (!sent.ok() || *sent != net::SendOutcome::kSent) ++unroutable_;  // the client left
}

void BrokerShell::reply_error(const std::string& identity, const std::string& request,
                              const Error& error) {
  reply(identity, MessageType::kClientError,
        protocol::to_body(protocol::ClientError{request, error.code, error.message}));
}

void BrokerShell::handle_client(const std::string& identity, const protocol::Message& message) {
  const std::string request = message.body.get_string("request");
  const WallTime wall = clock_.wall_now();
  switch (message.type) {
    case MessageType::kSubmitRun: {
      auto submit = protocol::submit_run_from(message.body);
      if (!submit.ok()) return reply_error(identity, request, submit.error());
      auto run_id = coordinator_.submit(*submit, wall);
      if (!run_id.ok()) return reply_error(identity, request, run_id.error());
      reply(identity, MessageType::kRunAccepted, protocol::to_body(protocol::RunAccepted{request, *run_id}));
      return;
    }
    case MessageType::kWatchRun:
    case MessageType::kCancelRun: {
      const std::string run_id = message.body.get_string("run");
      if (message.type == MessageType::kCancelRun) {
        if (auto st = coordinator_.cancel(run_id, wall); !st.ok()) {
          return reply_error(identity, request, st.error());
        }
      }
      const RunRecord* run = coordinator_.find(run_id);
      if (!run) return reply_error(identity, request, make_error(ErrorCode::kNotFound, "no run " + run_id));
      protocol::RunStatus status = coordinator_.status(*run);
      status.request = request;
      if (run->state == RunState::kRunning) {
        auto& watching = watchers_[run_id];
        if (watching.size() < kMaxWatchersPerRun) watching.insert(identity);
      }
      reply(identity, MessageType::kRunStatus, protocol::to_body(status));
      return;
    }
    case MessageType::kListRuns: {
      Value body = run_list();
      body["request"] = request;
      reply(identity, MessageType::kRunList, body);
      return;
    }
    case MessageType::kBrokerStatusRequest: {
      Value body = broker_status();
      body["request"] = request;
      reply(identity, MessageType::kBrokerStatus, body);
      return;
    }
    default:
      reply_error(identity, request,
                  make_error(ErrorCode::kInvalidInput,
                             "the broker does not take " +
                                 std::string(protocol::message_type_name(message.type)) +
                                 " on its client socket"));
  }
}

Value BrokerShell::run_list() const {
  Value runs = Value::array();
  for (const auto& [id, run] : coordinator_.runs()) {
    Value r;
    r["run"] = id;
    r["pipeline"] = run.pipeline_name;
    r["state"] = std::string(run_state_name(run.state));
    r["created_ms"] = run.created_ms;
    r["finished_ms"] = run.finished_ms;
    runs.push_back(std::move(r));
  }
  Value body;
  body["runs"] = std::move(runs);
  return body;
}

Value BrokerShell::broker_status() const {
  Value workers = Value::array();
  for (const WorkerRecord* w : dispatcher_.roster().all()) {
    Value entry;
    entry["name"] = w->name;
    entry["pid"] = w->pid;
    entry["host"] = w->host;
    entry["slots"] = w->slots;
    entry["held"] = Value(Value::Array(w->held.begin(), w->held.end()));
    entry["items_done"] = static_cast<int64_t>(w->items_done);
    workers.push_back(std::move(entry));
  }
  const DispatchCounters& c = dispatcher_.counters();
  Value counters;
  counters["dispatched"] = static_cast<int64_t>(c.dispatched);
  counters["completed"] = static_cast<int64_t>(c.completed);
  counters["failed"] = static_cast<int64_t>(c.failed);
  counters["retried"] = static_cast<int64_t>(c.retried);
  counters["redelivered"] = static_cast<int64_t>(c.redelivered);
  counters["stale_results"] = static_cast<int64_t>(c.stale_results);
  counters["timeouts"] = static_cast<int64_t>(c.timeouts);
  counters["poisoned"] = static_cast<int64_t>(c.poisoned);
  counters["bad_worker_frames"] = static_cast<int64_t>(bad_worker_frames_.total());
  counters["bad_client_frames"] = static_cast<int64_t>(bad_client_frames_.total());
  Value body;
  body["workers"] = std::move(workers);
  body["queued"] = static_cast<int64_t>(dispatcher_.queued());
  body["in_flight"] = static_cast<int64_t>(dispatcher_.in_flight());
  body["waiting_retry"] = static_cast<int64_t>(dispatcher_.waiting_retry());
  body["counters"] = std::move(counters);
  return body;
}

void BrokerShell::settle(TimePoint now) {
  // Completions start new steps, whose items may complete at once only through the dispatcher,
  // so one pass per turn suffices; the loop guards against a change that breaks that.
  for (int round = 0; round < 64; ++round) {
    dispatcher_.on_tick(now);
    auto completions = dispatcher_.take_completions();
    if (completions.empty()) break;
    coordinator_.on_completions(std::move(completions), clock_.wall_now());
  }
  notify_watchers();
  coordinator_.forget_finished_beyond(config_.finished_runs_kept);
}

void BrokerShell::notify_watchers() {
  for (const auto& run_id : coordinator_.take_finished()) {
    auto it = watchers_.find(run_id);
    if (it == watchers_.end()) continue;
    if (const RunRecord* run = coordinator_.find(run_id)) {
      const Value body = protocol::to_body(coordinator_.status(*run));
      for (const auto& identity : it->second) reply(identity, MessageType::kRunStatus, body);
    }
    watchers_.erase(it);
  }
}

void BrokerShell::flush_workers() {
  for (auto& frame : dispatcher_.take_outbox()) {
    auto sent = workers_.send({frame.identity, frame.envelope});
    if (!sent.ok()) {
      spdlog::error("worker socket send: {}", sent.error().message);
    } else if (*sent != net::SendOutcome::kSent) {
      // The worker left (unreachable) or its queue is full; liveness or the supervisor's exit
      // event will redeliver whatever it held.
      ++unroutable_;
    }
  }
}

int BrokerShell::run() {
  std::vector<net::PollEntry> entries{{workers_.raw(), -1, false},
                                      {clients_.raw(), -1, false},
                                      {nullptr, signal_fd_, false}};
  if (listening_to_events_) entries.push_back({events_.raw(), -1, false});
  for (;;) {
    const TimePoint now = clock_.now();
    const int64_t timeout = millis_until(dispatcher_.next_deadline(now), now);
    auto polled = net::poll(entries, timeout);
    if (!polled.ok()) {
      spdlog::critical("poll: {}", polled.error().message);
      return 70;
    }
    if (entries[2].readable) {
      for (int sig : read_signals(signal_fd_)) {
        if (sig == SIGTERM || sig == SIGINT) {
          spdlog::info("stopping on signal {} with {} item(s) in flight", sig,
                       dispatcher_.in_flight());
          return 0;
        }
      }
    }
    if (listening_to_events_ && entries[3].readable) drain_events();
    if (entries[0].readable) drain_workers();
    if (entries[1].readable) drain_clients();
    settle(clock_.now());
    flush_workers();
  }
}

}  // namespace pl::broker
