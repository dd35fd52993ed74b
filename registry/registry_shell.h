// The registry's effects: one poll loop over its ROUTER socket and the signalfd.
//
// Each turn of the loop is one group commit: it reads every request already waiting (at most
// max_batch), opens one transaction, lets the core apply them in arrival order, commits, and only
// then sends the replies. So a reply that says ok is never sent for a change that is not durable,
// and one fsync covers all the requests that arrived together. If the commit fails, every request
// of the batch is answered with 301 unavailable (the client retries with the same idempotency id)
// and nothing of the batch is kept.
//
// When the store's commit is not durable by itself (SqliteStore's deferred sync), the replies of
// each committed batch wait for a DurabilitySyncer's sync that covers it, while the loop goes on
// with the next batches: the fsync of one batch overlaps the work of the next. A batch of reads
// only is answered at once when nothing waits before it. If a sync fails the loop exits with 75
// without acknowledging anything more (clients retry; the restarted registry replays by id).
//
// Frames that are not a registry request envelope are counted and logged (rate limited) and get
// no reply; a request envelope with bad fields gets an error reply. Every maintenance interval the
// loop forgets old idempotency ids (core). SIGTERM/SIGINT stop the loop after the current batch.
//
// A `backup` request is the shell's, not the core's: it starts an online copy of registry.db
// (sqlite::BackupJob), which the loop goes on with between batches, without waiting in poll.
// It is taken only on an ipc:// socket: never from a tcp:// client.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/net/bad_frames.h"
#include "common/net/zap_handler.h"
#include "common/net/zmq_socket.h"
#include "common/protocol/registry.h"
#include "common/sqlite/durability_syncer.h"
#include "common/sqlite/online_backup.h"
#include "registry/registry_core.h"
#include "registry/registry_store.h"

namespace pl::registry {

struct ShellOptions {
  int max_batch = 1024;
  Duration maintenance_interval = std::chrono::seconds(60);
  Duration watchdog_interval{0};  // 0 = no WATCHDOG=1 pings
  // A second bound ROUTER served like the first (the tcp:// endpoint for other hosts); may be
  // null. Replies go back on the socket a request came from.
  net::Socket* second_socket = nullptr;
  // Authenticates the CURVE clients of tcp:// sockets; served in the loop, reloaded on SIGHUP.
  net::ZapHandler* zap = nullptr;
};

class RegistryShell {
 public:
  // `socket` is a bound ROUTER; everything referenced outlives the shell.
  RegistryShell(net::Socket& socket, RegistryStore& store, RegistryCore& core, const Clock& clock,
                int signal_fd, ShellOptions options);

  // Runs until SIGTERM or SIGINT; returns the process exit code (0; 70 when polling fails; 75
  // when the store cannot make changes durable).
  int run();

 private:
  struct Incoming {
    std::string peer;
    protocol::RegistryRequest request;
    net::Socket* via = nullptr;
  };
  struct Outgoing {
    std::string peer;
    protocol::RegistryReply reply;
    net::Socket* via = nullptr;
  };
  struct AwaitingSync {
    uint64_t generation;
    std::vector<Outgoing> replies;
  };

  // Reads one batch, applies and commits it, and acknowledges it (now or after its sync).
  void serve_batch();
  // Reads up to max_batch messages from each socket; bad ones are logged, bad requests
  // answered in `early`.
  std::vector<Incoming> read_batch(std::vector<Outgoing>& early);
  void read_batch_from(net::Socket& socket, std::vector<Incoming>& batch,
                       std::vector<Outgoing>& early);
  // Applies and commits one batch; returns the replies to send.
  std::vector<Outgoing> apply_batch(std::vector<Incoming> batch);
  void send(const std::vector<Outgoing>& replies);
  // Sends the replies now, or holds them until a sync covers their batch.
  void acknowledge(std::vector<Outgoing> replies, bool mutated);
  // Sends the held replies that a finished sync covers; false when the sync failed.
  bool release_synced();
  // At shutdown: one last sync, then every held reply.
  void flush_held();
  void maintain();
  // A backup request: starts copying registry.db (args.dir) or reports the copy's status; refused
  // when it came `via` a network socket (sqlite::backup_allowed_over).
  protocol::RegistryReply backup(const protocol::RegistryRequest& request, net::Socket& via);

  std::vector<net::Socket*> sockets_;
  RegistryStore& store_;
  RegistryCore& core_;
  const Clock& clock_;
  int signal_fd_;
  ShellOptions options_;
  net::BadFrameLog bad_frames_{"registry socket"};
  uint64_t unroutable_ = 0;
  std::unique_ptr<sqlite::DurabilitySyncer> syncer_;  // when commits are not durable by themselves
  uint64_t committed_ = 0;                    // batches committed (generations)
  std::deque<AwaitingSync> held_;
  sqlite::BackupJob backup_{"registry.db"};  // stepped between batches while it copies
};

}  // namespace pl::registry
