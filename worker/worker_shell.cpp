#include "worker/worker_shell.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sysexits.h>

#include "common/ids.h"
#include "common/net/curve_keys.h"
#include "common/protocol/envelope.h"
#include "common/signals.h"

namespace pl::worker {
namespace {

// Failed handshakes in a row after which a connection is given up (watch_handshakes).
constexpr int kHandshakeFailuresPerConnection = 2;
// How long what a retiring worker sent last may take to leave before its socket closes.
constexpr std::chrono::milliseconds kGoodbyeLinger{500};

}  // namespace

WorkerShell::WorkerShell(net::Context& context, std::string broker_endpoint, WorkerCore& core,
                         SlotPool& pool, const Clock& clock, int signal_fd, BrokerLink link)
    : context_(context),
      endpoint_(std::move(broker_endpoint)),
      core_(core),
      pool_(pool),
      clock_(clock),
      signal_fd_(signal_fd),
      link_(std::move(link)) {
  if (link_.curve) {
    if (auto key = net::curve_key_from_raw(link_.curve->public_key); key.ok()) {
      public_key_z85_ = key->z85();
    }
  }
}

Status WorkerShell::connect() {
  net::SocketOptions options;
  // A fresh identity per connection: the broker never confuses us with our previous self. A
  // short one: the broker copies it for every item it sends us and every result we send.
  options.routing_id = new_short_id("w-");
  options.curve_client = link_.curve;
  if (link_.send_hwm > 0) options.send_hwm = link_.send_hwm;
  auto socket = std::make_unique<net::Socket>(context_, net::SocketKind::kDealer, options);
  std::unique_ptr<net::HandshakeMonitor> monitor;
  if (link_.curve) {
    monitor = std::make_unique<net::HandshakeMonitor>(context_, *socket);
    if (!monitor->status().ok()) return monitor->status();
  }
  if (auto st = socket->connect(endpoint_); !st.ok()) return st;
  socket_ = std::move(socket);
  monitor_ = std::move(monitor);
  // Whatever was queued for the old connection: the hello below sends every unacknowledged
  // result again, after itself, as the broker needs.
  outgoing_.clear();
  handshake_failure_logged_ = false;
  handshake_failures_ = 0;
  given_up_ = false;
  execute(core_.on_connected(clock_.now()));
  return ok_status();
}

void WorkerShell::execute(std::vector<WorkerCommand> commands) {
  for (auto& command : commands) {
    if (auto* send = std::get_if<SendMessage>(&command)) {
      outgoing_.push_back(std::move(send->envelope));
    } else if (auto* start = std::get_if<StartItem>(&command)) {
      spdlog::debug("item {} attempt {} ({} {})", start->item.item_id, start->item.attempt,
                    start->item.step_type, start->item.step_name);
      pool_.start(std::move(start->item), start->deadline);
    } else if (auto* cancel = std::get_if<CancelRunning>(&command)) {
      spdlog::info("cancelling item {} attempt {}: {}", cancel->item_id, cancel->attempt,
                   cancel->reason);
      pool_.cancel(cancel->item_id, cancel->attempt, cancel->reason);
    } else if (auto* reconnect = std::get_if<Reconnect>(&command)) {
      reconnect_ = std::move(reconnect->why);
    } else if (auto* retire = std::get_if<Retire>(&command)) {
      retire_ = *retire;
    }
  }
}

void WorkerShell::send_outgoing() {
  if (outgoing_.empty()) return;
  if (given_up_) {
    // No connection until liveness makes a new one, whose hello sends what matters again.
    outgoing_.clear();
    return;
  }
  auto sent = socket_->send(outgoing_);
  if (!sent.ok()) {
    spdlog::error("send {} message(s) to the broker: {}", outgoing_.size(), sent.error().message);
  } else if (*sent != net::SendOutcome::kSent) {
    // The queue to the broker is full: the broker is gone or stuck. Heartbeat loss will
    // reconnect us; results lost here are sent again after the hello (they stay unacknowledged).
    log_blocked_send(outgoing_.size());
  }
  outgoing_.clear();
}

void WorkerShell::drain_socket() {
  for (;;) {
    auto frames = socket_->receive();
    if (!frames.ok()) {
      spdlog::error("receive from broker: {}", frames.error().message);
      return;
    }
    if (!frames->has_value()) return;
    const TimePoint now = clock_.now();
    // A broker spoke. (A send that went through proves less: it may wait in a queue for a
    // connection that never completes, a handshake the broker refuses.)
    silent_reconnects_.clear();
    if (blocked_sends_.active()) {
      spdlog::info("a broker answers after {} s in which {} message(s) to it were dropped",
                   blocked_sends_.lasted_seconds(now), dropped_messages_);
      blocked_sends_.clear();
    }
    // Each frame is an envelope: the broker sends what one turn produced for us as one message.
    for (const auto& frame : **frames) {
      if (take_work_item(frame, now) || take_result_ack(frame, now)) continue;
      auto message = protocol::decode(frame);
      if (!message.ok()) {
        bad_frames_.record("broker", message.error().message, now);
        continue;
      }
      execute(core_.on_message(std::move(*message), now));
      if (reconnect_) return;  // the rest is the old connection's: not read
    }
    // Inline items have finished by now: their results go out, as one message, before the next
    // message is read, so the broker sees results as they come rather than at the end of a drain.
    hand_back_finished();
    send_outgoing();
  }
}

void WorkerShell::log_reconnect(const std::string& why) {
  const TimePoint now = clock_.now();
  silent_reconnects_.log(now, why + "; reconnecting", [&] {
    return fmt::format("{}; reconnecting (no broker for {} s: {} reconnects)", why,
                       silent_reconnects_.lasted_seconds(now), silent_reconnects_.times() - 1);
  });
}

void WorkerShell::log_blocked_send(size_t messages) {
  const TimePoint now = clock_.now();
  if (!blocked_sends_.active()) dropped_messages_ = 0;
  dropped_messages_ += static_cast<int64_t>(messages);
  blocked_sends_.log(
      now, fmt::format("sending {} message(s) to the broker would block; dropped", messages), [&] {
        return fmt::format("sending to the broker has blocked for {} s: {} message(s) dropped",
                           blocked_sends_.lasted_seconds(now), dropped_messages_);
      });
}

bool WorkerShell::take_work_item(std::string_view frame, TimePoint now) {
  // A frame of another type is refused right after its header.
  auto item = protocol::decode_work_item(frame, {}, contexts_);
  if (!item.ok()) return false;
  execute(core_.on_work_item(std::move(*item), now));
  return true;
}

bool WorkerShell::take_result_ack(std::string_view frame, TimePoint now) {
  auto ack = protocol::decode_acked_attempts(frame);
  if (!ack.ok()) return false;
  execute(core_.on_result_ack(*ack, now));
  return true;
}

void WorkerShell::say_goodbye() {
  // Best effort: if the bye is lost, the broker learns of our exit from the supervisor or from
  // heartbeat loss.
  outgoing_.push_back(protocol::encode(protocol::MessageType::kWorkerBye, Value::object()));
  send_outgoing();
}

void WorkerShell::hand_back_finished() {
  for (auto& result : pool_.take_finished()) {
    execute(core_.on_item_finished(std::move(result), clock_.now()));
  }
}

void WorkerShell::watch_handshakes() {
  if (!monitor_) return;
  for (const auto& event : monitor_->drain()) {
    if (event.kind == net::HandshakeEvent::Kind::kSucceeded) {
      handshake_failures_ = 0;
      spdlog::info("CURVE handshake with the broker at {} succeeded", endpoint_);
      continue;
    }
    if (!handshake_failure_logged_) {
      // One line per connection: a connection that fails is given up below, and the next one
      // comes once per liveness period.
      handshake_failure_logged_ = true;
      spdlog::error("broker at {}: {}; this worker's public key is {}", endpoint_,
                    describe_handshake(event, false), public_key_z85_);
    }
    // ZeroMQ does not retry a refusal by the broker's ZAP handler, but it retries any other
    // failed handshake (a wrong server key) at once, and again: about 13 key exchanges a second
    // on the broker, each a failure it counts. So the connection is given up here too, and the
    // core's liveness makes a new one after heartbeat x liveness, as after a refusal. The first
    // failure is retried: a broker stopping in the middle of a handshake fails one too, and a
    // restarted broker must not wait a liveness period for us.
    if (++handshake_failures_ >= kHandshakeFailuresPerConnection && !given_up_) {
      given_up_ = true;
      if (auto st = socket_->disconnect(endpoint_); !st.ok()) {
        spdlog::warn("giving up the connection to {}: {}", endpoint_, st.error().message);
      }
      spdlog::warn("broker at {}: {} failed handshakes in a row; trying again with a new "
                   "connection after heartbeat x liveness",
                   endpoint_, handshake_failures_);
    }
  }
}

int WorkerShell::run() {
  if (auto st = connect(); !st.ok()) {
    spdlog::error("cannot connect to the broker at {}: {}", endpoint_, st.error().message);
    return EX_TEMPFAIL;
  }
  spdlog::info("worker connected to {}", endpoint_);
  for (;;) {
    send_outgoing();  // what the last turn produced (or a new connection's hello), before waiting
    entries_.assign({{socket_->raw(), -1, false},
                     {nullptr, signal_fd_, false},
                     {nullptr, pool_.notify_fd(), false}});
    if (monitor_) entries_.push_back({monitor_->raw(), -1, false});
    const int64_t timeout = millis_until(core_.next_deadline(), clock_.now());
    auto polled = net::poll(entries_, timeout);
    if (!polled.ok()) {
      spdlog::critical("poll failed: {}", polled.error().message);
      return EX_SOFTWARE;
    }
    if (entries_[1].readable) {
      for (int sig : read_signals(signal_fd_)) {
        if (sig != SIGTERM && sig != SIGINT) continue;
        if (stopping_) {
          spdlog::info(
              "stopping at once on a second signal {}; {} item(s) running are left to "
              "redelivery",
              sig, core_.running());
          say_goodbye();
          return 0;
        }
        stopping_ = true;
        if (core_.running() > 0) {
          spdlog::info(
              "stopping on signal {}: finishing the {} item(s) running first, for at "
              "most {} ms (a second signal stops at once)",
              sig, core_.running(),
              std::chrono::duration_cast<std::chrono::milliseconds>(stop_budget_).count());
        }
        const TimePoint now = clock_.now();
        execute(core_.on_stop(now, now + stop_budget_));
      }
    }
    if (monitor_ && entries_[3].readable) watch_handshakes();
    if (entries_[0].readable) drain_socket();
    // Threaded results (inline ones went out while draining), sent at the top of the loop.
    // Unconditional: one uncontended lock when there is nothing, and no result can wait for an
    // unrelated wake-up.
    hand_back_finished();
    execute(core_.on_tick(clock_.now()));
    if (retire_) {
      if (!stopping_) {
        spdlog::info("recycling after {} item(s) (worker.max_items): goodbye", core_.items_taken());
      } else if (retire_->left_running > 0 || retire_->unacknowledged > 0) {
        spdlog::warn(
            "stopping: {} item(s) still running and {} result(s) not acknowledged at "
            "the end of the stop's {} ms are left to redelivery",
            retire_->left_running, retire_->unacknowledged,
            std::chrono::duration_cast<std::chrono::milliseconds>(stop_budget_).count());
      } else {
        spdlog::info("stopping: every item finished and was acknowledged; goodbye");
      }
      say_goodbye();
      // What was just queued (the last results, the goodbye) gets a moment to leave: the socket
      // otherwise drops it as it closes, and a finished item would run again elsewhere.
      socket_->set_linger(kGoodbyeLinger);
      return 0;
    }
    if (reconnect_) {
      log_reconnect(*reconnect_);
      reconnect_.reset();
      if (auto st = connect(); !st.ok()) {
        spdlog::error("reconnect to {}: {}", endpoint_, st.error().message);
        return EX_TEMPFAIL;
      }
    }
  }
}

}  // namespace pl::worker
