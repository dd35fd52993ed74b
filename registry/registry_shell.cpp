#include "registry/registry_shell.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sysexits.h>

#include <algorithm>

#include "common/protocol/envelope.h"
#include "common/protocol/request_id.h"
#include "common/service_notify.h"
#include "common/signals.h"

namespace pl::registry {

using protocol::MessageType;
using protocol::RegistryReply;

RegistryShell::RegistryShell(net::Socket& socket, RegistryStore& store, RegistryCore& core,
                             const Clock& clock, int signal_fd, ShellOptions options)
    : sockets_{&socket},
      store_(store),
      core_(core),
      clock_(clock),
      signal_fd_(signal_fd),
      options_(options) {
  if (!store_.commit_is_durable()) {
    syncer_ = std::make_unique<sqlite::DurabilitySyncer>([this] { return store_.sync(); });
  }
  if (options_.second_socket) sockets_.push_back(options_.second_socket);
}

int RegistryShell::run() {
  std::vector<net::PollEntry> entries{{nullptr, signal_fd_, false}};
  const size_t syncer_entry = entries.size();
  if (syncer_) entries.push_back({nullptr, syncer_->notify_fd(), false});
  const size_t zap_entry = entries.size();
  if (options_.zap) options_.zap->add_poll_entries(entries);
  const size_t first_socket = entries.size();
  for (net::Socket* socket : sockets_) entries.push_back({socket->raw(), -1, false});
  TimePoint next_maintenance = clock_.now() + options_.maintenance_interval;
  TimePoint next_watchdog = clock_.now();
  const bool watchdog = options_.watchdog_interval.count() > 0;
  for (;;) {
    TimePoint wake = next_maintenance;
    if (watchdog) wake = std::min(wake, next_watchdog);
    int64_t timeout = millis_until(wake, clock_.now());
    if (syncer_ && syncer_->busy()) timeout = std::min<int64_t>(timeout, 1000);  // to see it stuck
    if (backup_.busy()) timeout = 0;  // a copy under way goes on between batches
    auto polled = net::poll(entries, timeout);
    if (!polled.ok()) {
      spdlog::critical("poll: {}", polled.error().message);
      return EX_SOFTWARE;
    }
    if (entries[0].readable) {
      for (int sig : read_signals(signal_fd_)) {
        if (sig == SIGTERM || sig == SIGINT) {
          spdlog::info("registry stopping on signal {}", sig);
          flush_held();
          return 0;
        }
        if (sig == SIGHUP && options_.zap) (void)options_.zap->reload();  // logs the outcome
      }
    }
    if (options_.zap) options_.zap->on_poll(entries, zap_entry);
    if (syncer_ && entries[syncer_entry].readable && !release_synced()) return EX_TEMPFAIL;
    if (syncer_ && syncer_->stuck()) sqlite::exit_for_stuck_sync("registry.db", EX_TEMPFAIL);
    // One batch and one commit per turn; poll comes straight back while more are waiting.
    bool readable = false;
    for (size_t i = first_socket; i < entries.size(); ++i) readable |= entries[i].readable;
    if (readable) serve_batch();
    backup_.step();  // between transactions, where a step of an online backup must be
    const TimePoint now = clock_.now();
    if (now >= next_maintenance) {
      maintain();
      next_maintenance = clock_.now() + options_.maintenance_interval;
    }
    if (watchdog && now >= next_watchdog) {
      notify_watchdog();
      next_watchdog = now + options_.watchdog_interval;
    }
  }
}

void RegistryShell::serve_batch() {
  std::vector<Outgoing> early;
  std::vector<Incoming> batch = read_batch(early);
  send(early);
  if (batch.empty()) return;
  const bool mutated = std::any_of(batch.begin(), batch.end(), [](const Incoming& in) {
    const auto op = protocol::registry_op_from_name(in.request.op);
    return op && protocol::is_mutation(*op);
  });
  acknowledge(apply_batch(std::move(batch)), mutated);
}

std::vector<RegistryShell::Incoming> RegistryShell::read_batch(std::vector<Outgoing>& early) {
  std::vector<Incoming> batch;
  for (net::Socket* socket : sockets_) read_batch_from(*socket, batch, early);
  return batch;
}

void RegistryShell::read_batch_from(net::Socket& socket, std::vector<Incoming>& batch,
                                    std::vector<Outgoing>& early) {
  for (int n = 0; n < options_.max_batch; ++n) {
    auto frames = socket.receive();
    if (!frames.ok()) {
      spdlog::error("registry socket: {}", frames.error().message);
      break;
    }
    if (!frames->has_value()) break;
    auto& parts = **frames;
    if (parts.size() != 2) {
      core_.note_bad_frame();
      const std::string problem = protocol::not_one_request(parts.empty() ? 0 : parts.size() - 1);
      bad_frames_.record(parts.empty() ? "" : parts[0], problem, clock_.now());
      // The first frame's id, when readable, is answered: its client would wait out its deadline.
      if (auto request_id =
              parts.size() > 2 ? protocol::salvage_request_id(parts[1]) : std::nullopt) {
        RegistryReply reply = RegistryReply::failure(make_error(ErrorCode::kInvalidInput, problem));
        reply.request = std::move(*request_id);
        early.push_back({std::move(parts[0]), std::move(reply), &socket});
      }
      continue;
    }
    auto message = protocol::decode(parts[1]);
    if (!message.ok() || message->type != MessageType::kRegistryRequest) {
      core_.note_bad_frame();
      const std::string problem = message.ok() ? "a " + std::string(protocol::message_type_name(message->type)) +
                                                     " is not a registry request"
                                               : message.error().message;
      bad_frames_.record(parts[0], problem, clock_.now());
      // A readable id (another protocol version, an unknown type) lets the client match the
      // error instead of waiting out its deadline; without one there is nobody to answer.
      if (auto request_id = protocol::salvage_request_id(parts[1])) {
        RegistryReply reply = RegistryReply::failure(make_error(ErrorCode::kInvalidInput, problem));
        reply.request = std::move(*request_id);
        early.push_back({std::move(parts[0]), std::move(reply), &socket});
      }
      continue;
    }
    std::string request_id = message->body.get_string("request");
    auto request = protocol::registry_request_from(std::move(message->body));
    if (!request.ok()) {
      RegistryReply reply = RegistryReply::failure(request.error());
      reply.request = std::move(request_id);
      early.push_back({std::move(parts[0]), std::move(reply), &socket});
      continue;
    }
    if (request->op == protocol::registry_op_name(protocol::RegistryOp::kBackup)) {
      early.push_back({std::move(parts[0]), backup(*request, socket), &socket});
      continue;
    }
    batch.push_back({std::move(parts[0]), std::move(*request), &socket});
  }
}

protocol::RegistryReply RegistryShell::backup(const protocol::RegistryRequest& request,
                                              net::Socket& via) {
  Result<Value> status = backup_.status();
  if (Status allowed = sqlite::backup_allowed_over(via.last_endpoint()); !allowed.ok()) {
    status = allowed.error();
  } else if (const Value* dir = request.args.find("dir"); dir && !dir->is_null()) {
    sqlite::Database* db = store_.database();
    if (!dir->is_string()) {
      status = make_error(ErrorCode::kInvalidInput, "backup: field \"dir\" is not a string");
    } else if (!db) {
      status = make_error(ErrorCode::kInvalidInput, "this registry has no registry.db to back up");
    } else {
      status = backup_.start(*db, dir->as_string());
    }
  }
  RegistryReply reply = status.ok() ? RegistryReply::success(std::move(*status))
                                    : RegistryReply::failure(status.error());
  reply.request = request.request;
  return reply;
}

std::vector<RegistryShell::Outgoing> RegistryShell::apply_batch(std::vector<Incoming> batch) {
  // Each reply's address is taken first: a batch that is not stored is still answered, each
  // request by its own peer.
  std::vector<Outgoing> replies;
  replies.reserve(batch.size());
  for (auto& in : batch) replies.push_back({std::move(in.peer), {}, in.via});
  const int64_t now_ms = unix_millis(clock_.wall_now());
  core_.note_batch();
  Status stored = store_.begin();
  if (stored.ok()) {
    std::vector<const protocol::RegistryRequest*> requests;
    requests.reserve(batch.size());
    for (const auto& in : batch) requests.push_back(&in.request);
    auto handled = core_.handle_batch(requests, now_ms);
    if (handled.ok()) {
      for (size_t i = 0; i < batch.size(); ++i) replies[i].reply = std::move((*handled)[i]);
      stored = store_.commit();
    } else {
      stored = handled.error();
    }
  }
  if (!stored.ok()) {
    core_.note_failed_commit();
    spdlog::error("registry: a batch of {} requests was not stored: {}", batch.size(),
                  stored.error().message);
    const Error unavailable = make_error(ErrorCode::kUnavailable,
                                         "the registry could not store the change: " + stored.error().message);
    for (size_t i = 0; i < batch.size(); ++i) {
      replies[i].reply = RegistryReply::failure(unavailable);
      replies[i].reply.request = batch[i].request.request;
    }
  }
  return replies;
}

void RegistryShell::send(const std::vector<Outgoing>& replies) {
  for (const auto& out : replies) {
    auto sent = out.via->send(
        {out.peer, protocol::encode(MessageType::kRegistryReply, protocol::to_body(out.reply))});
    if (!sent.ok()) {
      spdlog::warn("registry reply: {}", sent.error().message);
    } else if (*sent != net::SendOutcome::kSent) {
      ++unroutable_;  // the client left or is not reading; it retries if it still cares
    }
  }
}

void RegistryShell::acknowledge(std::vector<Outgoing> replies, bool mutated) {
  if (!syncer_ || (!mutated && held_.empty())) {
    send(replies);
    return;
  }
  held_.push_back({++committed_, std::move(replies)});
  syncer_->request(committed_);
}

bool RegistryShell::release_synced() {
  auto durable = syncer_->durable();
  if (!durable.ok()) {
    spdlog::critical("registry: changes cannot be made durable ({}); stopping without "
                     "acknowledging {} batch(es)",
                     durable.error().message, held_.size());
    return false;
  }
  while (!held_.empty() && held_.front().generation <= *durable) {
    send(held_.front().replies);
    held_.pop_front();
  }
  return true;
}

void RegistryShell::flush_held() {
  if (held_.empty()) return;
  if (auto st = store_.sync(); !st.ok()) {
    spdlog::critical("registry: a last sync failed ({}); {} batch(es) not acknowledged",
                     st.error().message, held_.size());
    return;
  }
  for (const auto& held : held_) send(held.replies);
  held_.clear();
}

void RegistryShell::maintain() {
  const int64_t now_ms = unix_millis(clock_.wall_now());
  Status st = store_.begin();
  Result<int64_t> forgotten = int64_t{0};
  Result<int64_t> expired = int64_t{0};
  if (st.ok()) {
    forgotten = core_.forget_old_ids(now_ms);
    if (forgotten.ok()) expired = core_.forget_idle_sessions(now_ms);
    st = !forgotten.ok() ? forgotten.error() : !expired.ok() ? expired.error() : store_.commit();
  }
  if (!st.ok()) {
    store_.rollback();
    spdlog::warn("registry maintenance: {}", st.error().message);
    return;
  }
  if (*forgotten > 0) spdlog::info("registry: forgot {} old idempotency ids", *forgotten);
  if (*expired > 0) {
    spdlog::info("registry: deleted {} session(s) idle for longer than keep_idle_sessions_days",
                 *expired);
  }
}

}  // namespace pl::registry
