// The worker's effects: one poll loop over the broker socket, the signalfd and the slot pool's
// eventfd, with the core's next deadline as the timeout. It owns no decisions; WorkerCore does.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/net/bad_frames.h"
#include "common/net/curve_monitor.h"
#include "common/net/zmq_socket.h"
#include "common/repeated_warning.h"
#include "worker/slot_pool.h"
#include "worker/worker_core.h"

namespace pl::worker {

// How this worker reaches the broker and says who it is.
struct BrokerLink {
  // Client keys for a tcp:// broker (required there). Handshake failures (a key the broker does
  // not allow, a wrong server key) are logged.
  std::optional<net::CurveClientKeys> curve;
  // Messages queued for a broker not yet connected before a send would block (0: the socket's
  // default). Tests make it small to see what the worker does then.
  int send_hwm = 0;
};

class WorkerShell {
 public:
  // `signal_fd` delivers SIGTERM/SIGINT (stop). All references outlive the shell.
  WorkerShell(net::Context& context, std::string broker_endpoint, WorkerCore& core,
              SlotPool& pool, const Clock& clock, int signal_fd, BrokerLink link = {});

  // Runs until a stop signal has been handled; returns the process exit code. A stop signal
  // drains: nothing more is taken, and what runs may finish for `budget` (then it is left to
  // redelivery); a second signal stops at once.
  int run();
  void set_stop_budget(Duration budget) { stop_budget_ = budget; }

 private:
  Status connect();
  void execute(std::vector<WorkerCommand> commands);
  void drain_socket();
  void log_reconnect(const std::string& why);
  void log_blocked_send(size_t messages);
  // A kWorkItem frame decoded straight into its struct and handed to the core: the hot message,
  // whose body need not become a Value. False, having done nothing, for a frame of another type
  // or one that does not decode so: the general path then takes it and reports what is wrong
  // with it, as for any frame.
  bool take_work_item(std::string_view frame, TimePoint now);
  // The same for a kResultAck frame, the other message of each turn under load.
  bool take_result_ack(std::string_view frame, TimePoint now);
  // Logs the handshake events of the connection (the first failure of each) and gives the
  // connection up after kHandshakeFailuresPerConnection failures in a row.
  void watch_handshakes();
  // Hands every finished result (inline or threaded) to the core and sends what it says.
  void hand_back_finished();
  void say_goodbye();
  // Sends what execute() queued as one message (each envelope a frame), in order.
  void send_outgoing();

  net::Context& context_;
  std::string endpoint_;
  WorkerCore& core_;
  SlotPool& pool_;
  const Clock& clock_;
  int signal_fd_;
  BrokerLink link_;
  std::unique_ptr<net::Socket> socket_;
  std::unique_ptr<net::HandshakeMonitor> monitor_;  // with CURVE only
  std::string public_key_z85_;                      // ours, for logs
  bool handshake_failure_logged_ = false;           // on this connection
  int handshake_failures_ = 0;                      // in a row, on this connection
  bool given_up_ = false;  // this connection, after failed handshakes: the next comes by liveness
  net::BadFrameLog bad_frames_{"broker connection"};
  protocol::WorkContextCache contexts_;   // the context of the last items, decoded once
  std::optional<std::string> reconnect_;  // why, when a new connection is due
  // Reconnects in a row with no word from a broker, and sends in a row that would block: the
  // first is a warning, then one a minute, so that a long outage (a network down, a broker
  // waiting for disk space, a broker that refuses our key) does not log a line per heartbeat.
  RepeatedWarning silent_reconnects_{std::chrono::seconds(60)};
  RepeatedWarning blocked_sends_{std::chrono::seconds(60)};
  int64_t dropped_messages_ = 0;  // while blocked_sends_ lasts
  std::optional<Retire> retire_;  // recycled or stopped, everything handed back
  bool stopping_ = false;         // a stop signal came: draining (a second one stops at once)
  Duration stop_budget_ = std::chrono::seconds(10);
  // Reused every loop turn: no allocation per turn.
  std::vector<net::PollEntry> entries_;
  net::Frames outgoing_;  // envelopes queued by execute(), sent by send_outgoing()
};

}  // namespace pl::worker
