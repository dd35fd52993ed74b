#include "broker/broker_shell.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sysexits.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "common/net/curve_config.h"
#include "common/protocol/client.h"
#include "common/protocol/control.h"
#include "common/protocol/envelope.h"
#include "common/protocol/request_id.h"
#include "common/signals.h"
#include "common/sqlite/online_backup.h"

namespace pl::broker {

using protocol::MessageType;

namespace {
// Messages taken from one socket per turn, so that a flood on one cannot starve the others.
constexpr int kBatchPerSocket = 2048;
constexpr size_t kMaxWatchersPerRun = 1024;
// While work keeps coming, one commit covers the turns of this long (and is made at once when
// none is waiting): fewer, larger commits, each with its fixed cost and its fsync.
constexpr auto kCommitEvery = std::chrono::milliseconds(5);
}  // namespace

BrokerShell::BrokerShell(net::Context& context, const BrokerConfig& config, Dispatcher& dispatcher,
                         RunCoordinator& coordinator, ClientApi& api, const Clock& clock,
                         int signal_fd)
    : context_(context),
      config_(config),
      dispatcher_(dispatcher),
      coordinator_(coordinator),
      retention_(coordinator, config.retention),
      api_(api),
      clock_(clock),
      signal_fd_(signal_fd),
      clients_(context_, net::SocketKind::kRouter),
      extra_clients_(context_, net::SocketKind::kRouter),
      workers_(context_, net::SocketKind::kRouter),
      events_(context_, net::SocketKind::kSub),
      control_(context_, net::SocketKind::kDealer) {
  RunStore& store = coordinator_.store();
  if (!store.commit_is_durable()) {
    syncer_ = std::make_unique<sqlite::DurabilitySyncer>([&store] { return store.sync(); });
  }
}

Status BrokerShell::bind(const BrokerEndpoints& endpoints) {
  zap_ = endpoints.zap;
  local_host_ = endpoints.local_host;
  has_extra_clients_ = !endpoints.extra_clients.empty();
  // tcp:// sockets are CURVE servers, made anew with those options (the ZAP handler is bound).
  for (auto [socket, endpoint, domain] :
       {std::tuple{&workers_, &endpoints.workers, "pipeline.broker.workers"},
        std::tuple{&clients_, &endpoints.clients, "pipeline.broker.clients"},
        std::tuple{&extra_clients_, &endpoints.extra_clients, "pipeline.broker.clients"}}) {
    if (endpoint->empty()) continue;
    if (!net::is_network_endpoint(*endpoint)) {
      if (auto st = socket->bind(*endpoint); !st.ok()) return st;
      continue;
    }
    if (!zap_) return make_error(ErrorCode::kInvalidInput, *endpoint + " needs CURVE keys");
    net::SocketOptions options;
    options.curve_server = zap_->server_keys(domain);
    *socket = net::Socket(context_, net::SocketKind::kRouter, options);
    if (auto st = socket->bind(*endpoint); !st.ok()) return st;
    if (auto st = zap_->watch(*socket, std::string(domain)); !st.ok()) return st;
  }
  if (!endpoints.supervisor_events.empty()) {
    if (auto st = events_.connect(endpoints.supervisor_events); !st.ok()) return st;
    if (auto st = events_.subscribe("child.exited"); !st.ok()) return st;
    listening_to_events_ = true;
  }
  if (!endpoints.supervisor_control.empty()) {
    if (auto st = control_.connect(endpoints.supervisor_control); !st.ok()) return st;
    has_supervisor_control_ = true;
  }
  return ok_status();
}

std::string BrokerShell::bound_extra_clients() const {
  return has_extra_clients_ ? extra_clients_.last_endpoint() : "";
}

void BrokerShell::request_kills() {
  for (const KillRequest& kill : dispatcher_.take_kill_requests()) {
    if (!local_host_.empty() && kill.host != local_host_) {
      // Pool members on every host have names like "workers.2": ours is another process.
      spdlog::error("worker {} (pid {}) on host {} {}; it runs on another host, whose own "
                    "supervisor must replace it; it gets no more work from here",
                    kill.worker_name, kill.pid, kill.host, kill.reason);
      continue;
    }
    if (!has_supervisor_control_ || kill.worker_name.empty()) {
      spdlog::error("worker {} (pid {}) {}; no supervisor to replace it, it is given up",
                    kill.worker_name, kill.pid, kill.reason);
      continue;
    }
    spdlog::warn("worker {} (pid {}) {}: asking the supervisor to restart it", kill.worker_name,
                 kill.pid, kill.reason);
    protocol::ControlRequest request;
    request.request = "kill-" + kill.worker_name;
    request.command = "restart";
    request.args["name"] = kill.worker_name;
    auto sent = control_.send({protocol::encode(MessageType::kControlRequest, protocol::to_body(request))});
    if (!sent.ok() || *sent != net::SendOutcome::kSent) {
      spdlog::error("cannot ask the supervisor to restart {}", kill.worker_name);
    }
  }
}

void BrokerShell::drain_control_replies() {
  for (int n = 0; n < kBatchPerSocket; ++n) {
    auto frames = control_.receive();
    if (!frames.ok() || !frames->has_value()) return;
    if ((*frames)->size() != 1) continue;
    auto message = protocol::decode((*frames)->front());
    if (!message.ok()) continue;
    auto reply = protocol::control_reply_from(message->body);
    if (reply.ok() && !reply->ok) {
      spdlog::error("the supervisor refused {}: {}", reply->request, reply->message);
    }
  }
}

void BrokerShell::drain_workers() {
  for (int n = 0; n < kBatchPerSocket; ++n) {
    // Under load results keep coming while the broker reads (each message's freed items go out
    // below): the turn ends once a commit is due, so that commits, acknowledgements, clients
    // and signals keep their pace instead of waiting for kBatchPerSocket messages.
    if (n > 0 && clock_.now() - last_commit_ >= kCommitEvery) return;
    auto frames = workers_.receive();
    if (!frames.ok()) {
      spdlog::error("worker socket: {}", frames.error().message);
      return;
    }
    if (!frames->has_value()) return;
    auto& parts = **frames;
    const TimePoint now = clock_.now();
    if (parts.size() < 2) {
      bad_worker_frames_.record(parts.empty() ? "" : parts[0], "a message with no envelope", now);
      continue;
    }
    // [identity, envelope, envelope, ...]: a worker sends what one turn of its loop produced as
    // one message. Each envelope stands alone; a bad one does not spoil its neighbours.
    for (size_t i = 1; i < parts.size(); ++i) {
      if (take_work_result(parts[0], parts[i], now)) continue;
      auto message = protocol::decode(parts[i]);
      if (!message.ok()) {
        bad_worker_frames_.record(parts[0], message.error().message, now);
        continue;
      }
      dispatcher_.on_worker_message(parts[0], std::move(*message), now);
    }
    // This worker's results are settled and the items they free go out before the next
    // message is read: each worker gets new work while the broker reads on, rather than all of
    // them waiting for the end of the turn (one worker's message holds a batch of results, as
    // many as it has slots under load).
    pass_on_completions(now);
    send_work();
  }
}

bool BrokerShell::take_work_result(const std::string& identity, std::string_view frame,
                                   TimePoint now) {
  // A frame of another type is refused right after its header.
  auto result = protocol::decode_work_result(frame);
  if (!result.ok()) return false;
  dispatcher_.on_work_result(identity, std::move(*result), now);
  return true;
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

void BrokerShell::drain_clients(net::Socket& socket) {
  for (int n = 0; n < kBatchPerSocket; ++n) {
    auto frames = socket.receive();
    if (!frames.ok()) {
      spdlog::error("client socket: {}", frames.error().message);
      return;
    }
    if (!frames->has_value()) return;
    auto& parts = **frames;
    if (parts.size() != 2) {
      const std::string problem = protocol::not_one_request(parts.empty() ? 0 : parts.size() - 1);
      bad_client_frames_.record(parts.empty() ? "" : parts[0], problem, clock_.now());
      // The first frame's id, when readable, is answered: its client would wait out its deadline.
      if (parts.size() > 2) {
        if (auto request_id = protocol::salvage_request_id(parts[1])) {
          reply(ClientPeer{&socket, parts[0]}, MessageType::kClientError,
                protocol::to_body(
                    protocol::ClientError{*request_id, ErrorCode::kInvalidInput, problem}));
        }
      }
      continue;
    }
    const ClientPeer peer{&socket, parts[0]};
    auto message = protocol::decode(parts[1]);
    if (!message.ok()) {
      bad_client_frames_.record(parts[0], message.error().message, clock_.now());
      // The id, when it can be read, lets the client match the answer (another protocol
      // version, an unknown type) instead of waiting out its deadline.
      const std::string request_id = protocol::salvage_request_id(parts[1]).value_or("");
      reply(peer, MessageType::kClientError,
            protocol::to_body(protocol::ClientError{request_id, ErrorCode::kInvalidInput,
                                                    message.error().message}));
      continue;
    }
    if (message->type == MessageType::kBackupRequest) {
      if (Status allowed = sqlite::backup_allowed_over(socket.last_endpoint()); !allowed.ok()) {
        reply(peer, MessageType::kClientError,
              protocol::to_body(protocol::ClientError{message->body.get_string("request"),
                                                      allowed.error().code,
                                                      allowed.error().message}));
        continue;
      }
    }
    // Completions that arrived with this turn go first, so a status reflects them.
    ClientReply answer = api_.handle(*message, clock_.instant());
    if (!answer.watch_run.empty()) {
      auto& watching = watchers_[answer.watch_run];
      if (watching.size() < kMaxWatchersPerRun) watching.insert(peer);
    }
    reply(peer, answer.type, answer.body);
  }
}

void BrokerShell::reply(const ClientPeer& peer, MessageType type, const Value& body) {
  client_outbox_.emplace_back(peer.socket,
                              net::Frames{peer.identity, encode_client_reply(type, body)});
}

void BrokerShell::settle(TimePoint now) {
  coordinator_.on_tick(clock_.instant());
  pass_on_completions(now);
  notify_watchers();
  coordinator_.forget_finished_beyond(config_.finished_runs_kept);
}

void BrokerShell::pass_on_completions(TimePoint now) {
  // Completions start new steps whose items go back to the dispatcher; repeat while the
  // dispatcher has more to say (bounded, in case a change ever makes that loop).
  for (int round = 0; round < 64; ++round) {
    dispatcher_.on_tick(now);
    auto completions = dispatcher_.take_completions();
    if (completions.empty()) break;
    coordinator_.on_completions(std::move(completions), clock_.instant());
  }
}

void BrokerShell::notify_watchers() {
  for (const auto& run_id : coordinator_.take_finished()) {
    auto it = watchers_.find(run_id);
    if (it == watchers_.end()) continue;
    if (auto body = api_.status_body(run_id); body.ok()) {
      for (const auto& peer : it->second) reply(peer, MessageType::kRunStatus, *body);
    } else {
      // Its watchers see the end when they next ask (pipelinectl run asks every few seconds).
      spdlog::error("run {} finished; its status for {} watcher(s): {}", run_id, it->second.size(),
                    body.error().message);
    }
    watchers_.erase(it);
  }
}

void BrokerShell::send_work() {
  // One message per worker per turn, each envelope a frame of it, in the dispatcher's order:
  // one wake-up of the worker's socket for a turn's items, not one per item.
  worker_batches_.clear();
  net::Frames* batch = nullptr;  // the last frame's: the dispatcher sends runs of frames to one
  for (auto& frame : dispatcher_.take_outbox()) {
    if (!batch || batch->front() != frame.identity) {
      auto [slot, fresh] = batch_of_.try_emplace(frame.identity, worker_batches_.size());
      if (fresh) worker_batches_.push_back({std::move(frame.identity)});
      batch = &worker_batches_[slot->second];
    }
    batch->push_back(std::move(frame.envelope));
  }
  batch_of_.clear();
  for (const auto& batch : worker_batches_) {
    const auto outcome = send_now(workers_, batch);
    if (outcome != net::SendOutcome::kSent) {
      give_back(batch, outcome == net::SendOutcome::kUnreachable);
    }
  }
}

void BrokerShell::give_back(const net::Frames& batch, bool gone) {
  for (size_t i = 1; i < batch.size(); ++i) {
    std::array<protocol::BodyField, 2> fields{{{"id"}, {"attempt"}}};
    if (!protocol::decode_fields(batch[i], MessageType::kWorkItem, fields).ok()) continue;
    if (!fields[0].value.is_string() || !fields[1].value.is_int()) continue;
    dispatcher_.on_undelivered(batch.front(), fields[0].value.as_string(),
                               static_cast<uint32_t>(fields[1].value.as_int()), gone,
                               clock_.now());
  }
}

void BrokerShell::flush() {
  for (auto& ack : dispatcher_.take_acks()) {
    send_when_durable(workers_, {std::move(ack.identity), std::move(ack.envelope)});
  }
  for (auto& [socket, frames] : client_outbox_) send_when_durable(*socket, std::move(frames));
  client_outbox_.clear();
}

std::optional<net::SendOutcome> BrokerShell::send_now(net::Socket& socket,
                                                      const net::Frames& frames) {
  auto sent = socket.send(frames);
  if (!sent.ok()) {
    spdlog::error("{} socket send: {}", &socket == &workers_ ? "worker" : "client",
                  sent.error().message);
    return std::nullopt;
  }
  // The peer left or its queue is full. Work items go back to the queue (send_work); what a
  // worker holds is redelivered by liveness or the supervisor's exit event; a client asks
  // again if it still cares.
  if (*sent != net::SendOutcome::kSent) ++unroutable_;
  return *sent;
}

void BrokerShell::send_when_durable(net::Socket& socket, net::Frames frames) {
  if (!syncer_ || (held_.empty() && durable_ >= committed_)) {
    send_now(socket, frames);
    return;
  }
  held_.push_back(Held{committed_, &socket, std::move(frames)});
}

bool BrokerShell::release_synced() {
  auto durable = syncer_->durable();
  if (!durable.ok()) {
    spdlog::critical(
        "broker.db cannot be made durable ({}); {} reply(ies) and "
        "acknowledgement(s) not sent",
        durable.error().message, held_.size());
    commit_failure_ = durable.error().message;
    return false;
  }
  durable_ = std::max(durable_, *durable);
  while (!held_.empty() && held_.front().generation <= durable_) {
    send_now(*held_.front().socket, held_.front().frames);
    held_.pop_front();
  }
  return true;
}

void BrokerShell::flush_held() {
  if (held_.empty()) return;
  if (auto st = coordinator_.store().sync(); !st.ok()) {
    spdlog::critical("broker.db: a last sync failed ({}); {} reply(ies) and acknowledgement(s) "
                     "not sent",
                     st.error().message, held_.size());
    return;
  }
  for (const auto& held : held_) send_now(*held.socket, held.frames);
  held_.clear();
}

int BrokerShell::run() {
  std::vector<net::PollEntry> entries{{workers_.raw(), -1, false},
                                      {clients_.raw(), -1, false},
                                      {nullptr, signal_fd_, false}};
  const size_t extra_clients_entry = entries.size();
  if (has_extra_clients_) entries.push_back({extra_clients_.raw(), -1, false});
  const size_t events_entry = entries.size();
  if (listening_to_events_) entries.push_back({events_.raw(), -1, false});
  const size_t control_entry = entries.size();
  if (has_supervisor_control_) entries.push_back({control_.raw(), -1, false});
  const size_t sync_entry = entries.size();
  if (syncer_) entries.push_back({nullptr, syncer_->notify_fd(), false});
  const size_t zap_entry = entries.size();
  if (zap_) zap_->add_poll_entries(entries);
  last_commit_ = clock_.now();
  api_.set_extra_counters([this] { return extra_counters(); });
  for (;;) {
    const TimePoint now = clock_.now();
    int64_t timeout = millis_until(std::min({dispatcher_.next_deadline(now),
                                             coordinator_.next_deadline(),
                                             retention_.next_deadline()}),
                                   now);
    if (syncer_ && syncer_->busy()) timeout = std::min<int64_t>(timeout, 1000);  // to see it stuck
    // More work waiting joins this commit; else commit (at once, or when commit_wait_ms passes
    // with nothing read), then wait.
    if (uncommitted_) timeout = std::min(timeout, commit_wait_ms(now));
    // A copy under way goes on at each commit: under load the commits come by themselves (every
    // kCommitEvery), and an idle broker turns at once to make one. (Turning at once under load
    // too would commit every turn, each commit with its own cost.)
    if (api_.backup().busy() && !uncommitted_) timeout = 0;
    auto polled = net::poll(entries, timeout);
    if (!polled.ok()) {
      spdlog::critical("poll: {}", polled.error().message);
      return EX_SOFTWARE;
    }
    if (entries[2].readable) {
      for (int sig : read_signals(signal_fd_)) {
        if (sig == SIGTERM || sig == SIGINT) {
          spdlog::info("stopping on signal {} with {} item(s) in flight", sig,
                       dispatcher_.in_flight());
          if (uncommitted_ && !commit()) return EX_SOFTWARE;
          flush_held();
          return 0;
        }
        if (sig == SIGHUP && zap_) (void)zap_->reload();  // logs what happened
      }
    }
    if (uncommitted_ && std::none_of(entries.begin(), entries.end(),
                                     [](const net::PollEntry& e) { return e.readable; })) {
      if (!commit()) return after_failed_commit();
      continue;
    }
    if (syncer_ && entries[sync_entry].readable && !release_synced()) return after_failed_commit();
    if (syncer_ && syncer_->stuck()) sqlite::exit_for_stuck_sync("broker.db", EX_SOFTWARE);
    if (zap_) zap_->on_poll(entries, zap_entry);
    if (listening_to_events_ && entries[events_entry].readable) drain_events();
    if (has_supervisor_control_ && entries[control_entry].readable) drain_control_replies();
    if (entries[0].readable) drain_workers();
    settle(clock_.now());
    if (entries[1].readable) drain_clients(clients_);
    if (has_extra_clients_ && entries[extra_clients_entry].readable) drain_clients(extra_clients_);
    settle(clock_.now());
    send_work();
    retention_.on_turn(clock_.instant());  // after the work: deletion waits, dispatch does not
    uncommitted_ = true;
    if (clock_.now() - last_commit_ >= kCommitEvery && !commit()) return after_failed_commit();
    request_kills();
  }
}

Value BrokerShell::extra_counters() const {
  Value extra;
  extra["bad_worker_frames"] = static_cast<int64_t>(bad_worker_frames_.total());
  extra["bad_client_frames"] = static_cast<int64_t>(bad_client_frames_.total());
  extra["unroutable"] = static_cast<int64_t>(unroutable_);
  extra["runs_expired"] = static_cast<int64_t>(retention_.counters().runs_expired);
  extra["retention_errors"] = static_cast<int64_t>(retention_.counters().store_errors);
  if (zap_) {
    extra["curve_allowed"] = static_cast<int64_t>(zap_->counters().allowed);
    extra["curve_refused"] = static_cast<int64_t>(zap_->counters().refused);
    extra["curve_handshake_failures"] = static_cast<int64_t>(zap_->counters().handshake_failures);
  }
  return extra;
}

int64_t BrokerShell::commit_wait_ms(TimePoint now) const {
  // A reply a client waits for goes out with the commit; acknowledgements of results can wait
  // (a worker keeps a result until it is acknowledged, and sends it again to a new broker).
  if (!client_outbox_.empty() || dispatcher_.in_flight() == 0) return 0;
  return millis_until(last_commit_ + kCommitEvery, now);
}

bool BrokerShell::commit() {
  if (auto st = coordinator_.store().commit(); !st.ok()) {
    // We cannot keep promises we cannot write down: stop, and let recovery start over from
    // what is durable.
    spdlog::critical("broker.db commit failed: {}", st.error().message);
    commit_failure_ = st.error().message;
    return false;
  }
  if (coordinator_.store().commits() > committed_) {
    committed_ = coordinator_.store().commits();
    if (syncer_) syncer_->request(committed_);
  }
  uncommitted_ = false;
  last_commit_ = clock_.now();
  flush();  // what waited for this commit: acknowledgements and replies, sent once it is durable
  api_.backup().step();  // between transactions, where a step of an online backup must be
  return true;
}

}  // namespace pl::broker
