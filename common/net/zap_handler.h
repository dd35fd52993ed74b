// The ZAP handler of a process that listens on tcp:// (DESIGN.md §8, §11): a REP socket on
// inproc://zeromq.zap.01 in the process's context, served from the process's own poll loop,
// that lets in CURVE clients whose public key is in the allow-list and nobody else.
//
// Use (the broker and registry shells do this):
//   1. start() binds the handler, BEFORE any CURVE socket binds: a CURVE socket bound first
//      could accept a client in between (and with ZMQ_ZAP_ENFORCE_DOMAIN, which every CURVE
//      socket of ours sets, a client arriving while no handler is bound is refused).
//   2. server_keys(domain) gives the SocketOptions of each CURVE socket; the domain names the
//      socket in refusal logs, and a request for any other domain is refused.
//   3. watch(socket) after binding, to log handshakes that fail before ZAP (plaintext clients,
//      clients with the wrong server key).
//   4. add_poll_entries() into the loop's poll set; on_poll() after each poll.
//   5. reload() on SIGHUP.
//
// The allow-list is re-read when its files change (checked at each ZAP request: inode, size and
// mtime of the file, or of the directory and its *.pub files) and on reload(). A list that fails
// to load is not used: the one in force stays, and the error is logged once per change.
// Refusals are logged at warning level, at most once per key (or peer address, without a key)
// per `log_interval`, with the number of refusals not logged since.
//
// Not thread-safe: one loop owns it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/net/curve_keys.h"
#include "common/net/curve_monitor.h"
#include "common/net/zap.h"
#include "common/net/zmq_socket.h"

namespace pl::net {

// What a listening process's config names for its tcp:// endpoints.
struct CurveServerSetup {
  CurveKeyPair server;  // the server's key pair (from its secret key file)
  std::filesystem::path secret_key_file;
  std::filesystem::path allow_list;  // a file of public keys, or a directory of *.pub
};

struct ZapCounters {
  uint64_t allowed = 0;
  uint64_t refused = 0;             // ZAP answered 400
  uint64_t handshake_failures = 0;  // failed before ZAP (plaintext, wrong server key)
  uint64_t reloads = 0;             // allow-list loads after the first
  uint64_t logs_suppressed = 0;     // refusals and failures not logged (rate limit)
};

class ZapHandler {
 public:
  // Loads the allow-list and binds the handler in `context`. Errors: the allow-list's (naming
  // file:line:column), or kIo when the bind fails (another handler in this context).
  static Result<std::unique_ptr<ZapHandler>> start(
      Context& context, CurveServerSetup setup, const Clock& clock,
      Duration log_interval = std::chrono::seconds(10));
  // start() when `setup` is there, else nothing (a null handler): what a process with an
  // optional `curve:` section does before it binds any socket.
  static Result<std::unique_ptr<ZapHandler>> start_if_configured(
      Context& context, const std::optional<CurveServerSetup>& setup, const Clock& clock);
  ~ZapHandler();

  // Options for a CURVE server socket authenticated under `domain` ("pipeline.broker.workers").
  CurveServerKeys server_keys(const std::string& domain);
  // Logs `socket`'s handshakes that fail before ZAP, naming it `name`. REQUIRES: `socket`
  // outlives this handler, or is closed no later.
  Status watch(Socket& socket, const std::string& name);

  void add_poll_entries(std::vector<PollEntry>& entries) const;
  // Serves what the entries from `first` on say is ready.
  void on_poll(const std::vector<PollEntry>& entries, size_t first);
  // Answers every ZAP request waiting (on_poll calls it).
  void serve();

  // Re-reads the allow-list now. On failure the current list stays in force.
  Status reload();

  const ZapCounters& counters() const { return counters_; }
  size_t allowed_keys() const { return allowed_.size(); }
  const std::string& server_public_key_z85() const { return server_public_z85_; }

 private:
  ZapHandler(Context& context, CurveServerSetup setup, const Clock& clock, Duration log_interval);
  void reload_if_changed();
  void log_refusal(const ZapDecision& decision);
  void log_handshake(const std::string& name, const HandshakeEvent& event);
  bool should_log(const std::string& key, uint64_t& suppressed);

  struct Watched {
    std::string name;
    std::unique_ptr<HandshakeMonitor> monitor;
  };
  struct LogState {
    TimePoint last{};
    uint64_t suppressed = 0;
  };

  Context& context_;
  CurveServerSetup setup_;
  const Clock& clock_;
  Duration log_interval_;
  Socket socket_;
  AllowList allowed_;
  std::string loaded_stamp_;  // the files as last read, whether or not they loaded
  std::string server_public_z85_;
  std::set<std::string> domains_;
  std::vector<Watched> watched_;
  std::map<std::string, LogState> log_state_;
  ZapCounters counters_;
};

}  // namespace pl::net
