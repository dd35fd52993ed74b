// What the running broker does when broker.db cannot be written because its file system is full
// (full_disk.h): BrokerShell::wait_for_room.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sysexits.h>

#include <chrono>

#include "broker/broker_shell.h"
#include "common/full_disk.h"
#include "common/protocol/client.h"
#include "common/protocol/request_id.h"
#include "common/service_notify.h"
#include "common/signals.h"
#include "common/sqlite/damage_mark.h"
#include "common/state_paths.h"

namespace pl::broker {

using protocol::MessageType;

namespace {

constexpr int kFramesPerTurn = 256;
constexpr auto kCheckEvery = std::chrono::seconds(1);

}  // namespace

int BrokerShell::after_failed_commit() {
  // A copy under way would hold its space (perhaps what filled the disk) while the broker waits.
  api_.backup().abandon("the broker stopped serving: " + commit_failure_);
  if (sqlite::reports_damage(commit_failure_)) {
    // Restarted, the broker would meet the damage again at the same write (damage_mark.h).
    sqlite::mark_damaged(StatePaths(config_.state_dir).broker_db(), commit_failure_);
    return EX_DATAERR;
  }
  return waiting_for_room_helps(commit_failure_, config_.state_dir) ? wait_for_room() : EX_SOFTWARE;
}

int BrokerShell::wait_for_room() {
  const std::string dir = config_.state_dir.string();
  const std::string why = "broker.db cannot be written (" + commit_failure_ +
                          "): the broker waits for free space in " + dir +
                          ", then starts again from its last commit; nothing accepted is lost";
  spdlog::critical("{}", why);
  notify_status("waiting for free space in " + dir);
  std::vector<net::PollEntry> entries{
      {workers_.raw(), -1, false}, {clients_.raw(), -1, false}, {nullptr, signal_fd_, false}};
  const size_t extra_clients_entry = entries.size();
  if (has_extra_clients_) entries.push_back({extra_clients_.raw(), -1, false});
  // CURVE clients and workers of tcp:// endpoints are still authenticated, so that they too
  // hear why (a handshake left unanswered would only time out).
  const size_t zap_entry = entries.size();
  if (zap_) zap_->add_poll_entries(entries);
  // Clients are told why at once, rather than waiting out their deadlines.
  const auto refuse_clients = [&](net::Socket& socket) {
    for (int n = 0; n < kFramesPerTurn; ++n) {
      auto frames = socket.receive();
      if (!frames.ok()) spdlog::error("client socket: {}", frames.error().message);
      if (!frames.ok() || !frames->has_value()) return;
      auto& parts = **frames;
      if (parts.size() != 2) {
        bad_client_frames_.record(parts.empty() ? "" : parts[0],
                                  "expected 2 frames, got " + std::to_string(parts.size()),
                                  clock_.now());
        continue;
      }
      const std::string request = protocol::salvage_request_id(parts[1]).value_or("");
      send_now(socket,
               {parts[0], encode_client_reply(MessageType::kClientError,
                                              protocol::to_body(protocol::ClientError{
                                                  request, ErrorCode::kUnavailable, why}))});
    }
  };
  // Workers' frames are dropped: a worker keeps each result until a broker acknowledges it, and
  // says hello again to the next broker.
  const auto drop_worker_frames = [&] {
    for (int n = 0; n < kFramesPerTurn; ++n) {
      auto frames = workers_.receive();
      if (!frames.ok()) spdlog::error("worker socket: {}", frames.error().message);
      if (!frames.ok() || !frames->has_value()) return;
    }
  };
  RoomWatch watch(config_.state_dir);
  for (;;) {
    auto polled = net::poll(entries, std::chrono::milliseconds(kCheckEvery).count());
    if (!polled.ok()) {
      spdlog::critical("poll: {}", polled.error().message);
      return EX_SOFTWARE;
    }
    if (entries[2].readable) {
      for (int sig : read_signals(signal_fd_)) {
        if (sig == SIGTERM || sig == SIGINT) {
          spdlog::info("stopping on signal {} while waiting for free space in {}", sig, dir);
          return 0;
        }
        if (sig == SIGHUP && zap_) (void)zap_->reload();  // logs what happened
      }
    }
    if (zap_) zap_->on_poll(entries, zap_entry);
    if (entries[0].readable) drop_worker_frames();
    if (entries[1].readable) refuse_clients(clients_);
    if (has_extra_clients_ && entries[extra_clients_entry].readable) refuse_clients(extra_clients_);
    if (watch.check("stopping, to start again from the last commit")) return EX_TEMPFAIL;
  }
}

}  // namespace pl::broker
