// The worker's effects: one poll loop over the broker socket, the signalfd and the slot pool's
// eventfd, with the core's next deadline as the timeout. It owns no decisions; WorkerCore does.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/net/bad_frames.h"
#include "common/net/zmq_socket.h"
#include "worker/slot_pool.h"
#include "worker/worker_core.h"

namespace pl::worker {

class WorkerShell {
 public:
  // `signal_fd` delivers SIGTERM/SIGINT (stop). All references outlive the shell.
  WorkerShell(net::Context& context, std::string broker_endpoint, WorkerCore& core,
              SlotPool& pool, const Clock& clock, int signal_fd);

  // Runs until a stop signal; returns the process exit code.
  int run();

 private:
  Status connect();
  void execute(std::vector<WorkerCommand> commands);
  void drain_socket();
  // Hands every finished result (inline or threaded) to the core and sends what it says.
  void hand_back_finished();

  net::Context& context_;
  std::string endpoint_;
  WorkerCore& core_;
  SlotPool& pool_;
  const Clock& clock_;
  int signal_fd_;
  std::unique_ptr<net::Socket> socket_;
  net::BadFrameLog bad_frames_{"broker connection"};
  bool reconnect_ = false;
  bool retire_ = false;  // worker.max_items reached and everything handed back
  // Reused every loop turn and every send: no allocation per message for either.
  std::vector<net::PollEntry> entries_;
  net::Frames out_frames_ = net::Frames(1);
};

}  // namespace pl::worker
