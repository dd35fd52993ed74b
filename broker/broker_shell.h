// The broker's effects: one poll loop over the client sockets (the state directory's, and
// broker.clients_endpoint when it is another), the worker socket, the supervisor's event socket
// and the signalfd, with the dispatcher's next deadline as timeout.
//
// Each turn: read what is ready, let the cores react, send the work they produced. The store is
// committed kCommitEvery after the last commit while input keeps coming or items are out on
// workers (their results are on the way), and at once when a client waits for a reply or
// nothing is left to come: a commit covers several turns under load, and a loop of quick items
// run one at a time pays for one commit per kCommitEvery rather than one per item. Work,
// cancellations and heartbeats go at once. Replies to clients and acknowledgements of results
// promise something durable: they wait for the commit that holds what they promise and, unless
// the store's commits are durable by themselves, then (in order) for a sync that started after
// that commit, which a DurabilitySyncer runs on its own thread while the loop goes on (a
// deferred sync, run_store.h).
// A failed commit or sync stops the broker (exit 70) — the supervisor restarts it and the runs
// are recovered from what was durable — except on a full disk, where it first waits for room
// (wait_for_room).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/broker_config.h"
#include "broker/client_api.h"
#include "broker/dispatcher.h"
#include "broker/run_coordinator.h"
#include "common/clock.h"
#include "common/net/bad_frames.h"
#include "common/net/zap_handler.h"
#include "common/net/zmq_socket.h"
#include "common/sqlite/durability_syncer.h"

namespace pl::broker {

struct BrokerEndpoints {
  // The state directory's client socket: always bound, because local tools (pipelinectl, the
  // supervisor's health probe) find the broker there whatever the config says.
  std::string clients;
  // `broker.clients_endpoint` when it is set and another endpoint: bound as well, served alike.
  std::string extra_clients;  // "" = none
  std::string workers;
  std::string supervisor_events;   // "" = no supervisor to listen to
  std::string supervisor_control;  // "" = no supervisor to ask for a worker's replacement
  // That supervisor runs the workers of this host only: a worker reporting another host (in
  // its hello) is never restarted through it, whatever its name. "" = any host.
  std::string local_host;
  // Authenticates CURVE clients of tcp:// endpoints (required for them); served by run().
  net::ZapHandler* zap = nullptr;
};

class BrokerShell {
 public:
  BrokerShell(net::Context& context, const BrokerConfig& config, Dispatcher& dispatcher,
              RunCoordinator& coordinator, ClientApi& api, const Clock& clock, int signal_fd);

  // Binds the sockets; errors name the endpoint. tcp:// endpoints are CURVE servers
  // authenticated by endpoints.zap (which must already be started).
  Status bind(const BrokerEndpoints& endpoints);
  // The endpoints as bound (with the port chosen for "tcp://ADDR:*"); "" for no extra one.
  std::string bound_clients() const { return clients_.last_endpoint(); }
  std::string bound_extra_clients() const;
  std::string bound_workers() const { return workers_.last_endpoint(); }
  // Runs until SIGTERM/SIGINT; returns the exit code.
  int run();

 private:
  void drain_workers();
  // A kWorkResult frame decoded straight into its struct and handed to the dispatcher: the hot
  // message, whose body need not become a Value. False, having done nothing, for a frame of
  // another type or one that does not decode so: the general path then takes it and reports
  // what is wrong with it, as for any frame.
  bool take_work_result(const std::string& identity, std::string_view frame, TimePoint now);
  // A client, by the socket its request came on and its identity there: replies and pushed
  // statuses go back the way the request came.
  struct ClientPeer {
    net::Socket* socket;
    std::string identity;
    auto operator<=>(const ClientPeer&) const = default;
  };
  void drain_clients(net::Socket& socket);
  void drain_events();
  void settle(TimePoint now);
  // The dispatcher's completions handed to the runs, until they start no more items.
  void pass_on_completions(TimePoint now);
  // Work, cancellations, heartbeats: what promises nothing about the store, so it goes out
  // before the commit, and workers start on it while the broker writes.
  void send_work();
  // Commits what the turns since the last commit wrote, asks for its sync and flushes; false
  // when the commit failed (the broker must stop: after_failed_commit).
  bool commit();
  // The exit code after a failed commit: at once EX_SOFTWARE, so that the supervisor restarts
  // the broker from what is durable; or, when the state directory's file system is full, first
  // wait_for_room(). (broker_shell_full_disk.cpp)
  int after_failed_commit();
  // A restart on a full disk would fail the same way, again and again, until the supervisor
  // gave up on the tree. So the broker waits, answering every client that it cannot write
  // broker.db and why, until the file system has room (has_room, full_disk.h); then it stops
  // (EX_TEMPFAIL) to start again from its last commit. 0 on SIGTERM or SIGINT meanwhile.
  int wait_for_room();
  // How long an uncommitted turn may wait for more before it is committed (see above), in ms.
  int64_t commit_wait_ms(TimePoint now) const;
  // Acknowledgements and client replies: after the commit (send_when_durable).
  void flush();
  // Sends frames that promise what the store holds now: at once when that is durable, else once
  // it is (release_synced), after any frames already waiting.
  void send_when_durable(net::Socket& socket, net::Frames frames);
  // Sends the frames whose commits a finished sync made durable; false if the sync failed.
  bool release_synced();
  // At shutdown: one last sync, then whatever waited for it.
  void flush_held();
  // What became of the frames (nullopt: a socket error, logged).
  std::optional<net::SendOutcome> send_now(net::Socket& socket, const net::Frames& frames);
  // The work items of a batch [identity, envelopes...] that could not be sent go back to the
  // dispatcher's queue: no worker has them. `gone`: no connection has that identity.
  void give_back(const net::Frames& batch, bool gone);
  void reply(const ClientPeer& peer, protocol::MessageType type, const Value& body);
  void notify_watchers();
  void request_kills();
  // The shell's own counters, for the broker's status (ClientApi::set_extra_counters).
  Value extra_counters() const;
  void drain_control_replies();

  net::Context& context_;
  const BrokerConfig& config_;
  Dispatcher& dispatcher_;
  RunCoordinator& coordinator_;
  RunRetention retention_;
  ClientApi& api_;
  const Clock& clock_;
  int signal_fd_;
  net::Socket clients_;
  net::Socket extra_clients_;
  bool has_extra_clients_ = false;
  net::Socket workers_;
  net::Socket events_;
  net::Socket control_;  // DEALER to the supervisor's control socket
  bool listening_to_events_ = false;
  bool has_supervisor_control_ = false;
  std::string local_host_;
  net::ZapHandler* zap_ = nullptr;
  std::map<std::string, std::set<ClientPeer>> watchers_;  // run id -> clients watching it
  // Sent after the next commit, each on its socket.
  std::vector<std::pair<net::Socket*, net::Frames>> client_outbox_;
  // send_work()'s scratch, kept between turns: [identity, envelopes...] per worker, and the index
  // of each worker's batch.
  std::vector<net::Frames> worker_batches_;
  std::unordered_map<std::string, size_t> batch_of_;
  net::BadFrameLog bad_worker_frames_{"worker socket"};
  net::BadFrameLog bad_client_frames_{"client socket"};
  uint64_t unroutable_ = 0;
  std::string commit_failure_;  // why the last commit failed
  // Deferred durability: commit generations and the frames waiting for theirs to be synced.
  std::unique_ptr<sqlite::DurabilitySyncer> syncer_;
  uint64_t committed_ = 0;
  bool uncommitted_ = false;  // turns since the last commit
  TimePoint last_commit_{};
  uint64_t durable_ = 0;
  struct Held {
    uint64_t generation;
    net::Socket* socket;
    net::Frames frames;
  };
  std::deque<Held> held_;
};

}  // namespace pl::broker
