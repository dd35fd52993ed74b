// ZeroMQ sockets with our conventions applied, behind a header that does not pull in cppzmq.
//
// Conventions (DESIGN.md §3, §11): finite high-water marks, ZMQ_MAXMSGSIZE set, ZMQ_LINGER 0
// so that closing never hangs, ZMQ_ROUTER_MANDATORY on ROUTERs so that a message to an unknown
// peer is an error we see instead of a silent drop, ipc:// socket files mode 0600, and nothing
// on the network without CURVE (DESIGN.md §8): bind() refuses tcp:// (or any transport but
// ipc:// and inproc://) unless the socket is a CURVE server with a ZAP domain
// (ZMQ_ZAP_ENFORCE_DOMAIN on, so that a missing ZAP handler refuses every client), connect()
// unless it is a CURVE client.
// Nothing here blocks: sends and receives are non-blocking and waits go through poll() with a
// timeout. Errors are values; no exception leaves this API.
// Thread safety: as ZeroMQ's: a socket belongs to one thread; a Context is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pl::net {

using Frames = std::vector<std::string>;

class Context {
 public:
  Context();
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  void* raw() const { return ctx_; }

 private:
  void* ctx_;
};

enum class SocketKind { kRouter, kDealer, kPub, kSub, kPair, kRep };

// A CURVE server (common/net/curve_keys.h has the keys): clients are authenticated by the ZAP
// handler of the socket's context (common/net/zap_handler.h) under `zap_domain`.
struct CurveServerKeys {
  std::string secret_key;  // 32 bytes
  std::string zap_domain;  // required: names the socket in ZAP requests and refusal logs
};

// A CURVE client: its own key pair and the public key of the server it connects to.
struct CurveClientKeys {
  std::string server_public_key;  // 32 bytes each
  std::string public_key;
  std::string secret_key;
};

struct SocketOptions {
  int send_hwm = 10000;
  int recv_hwm = 10000;
  int64_t max_message_bytes = 16 * 1024 * 1024;
  std::string routing_id;  // a DEALER's identity as its ROUTER sees it; "" = ZeroMQ picks
  // Reconnect quickly after a peer restarts; ZeroMQ's default 100 ms is our floor too.
  int reconnect_ivl_ms = 50;
  int reconnect_ivl_max_ms = 1000;
  // At most one of the two; required for network (tcp://) endpoints, optional for ipc:// and
  // inproc://.
  std::optional<CurveServerKeys> curve_server;
  std::optional<CurveClientKeys> curve_client;
};

enum class SendOutcome {
  kSent,
  kWouldBlock,   // the peer's queue is at its high-water mark
  kUnreachable,  // ROUTER: no peer with that routing id (EHOSTUNREACH)
};

class Socket {
 public:
  Socket(Context& context, SocketKind kind, const SocketOptions& options = {});
  ~Socket();
  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // For ipc:// endpoints the path must fit in 107 bytes; the socket file is made mode 0600.
  // kInvalidInput for a network endpoint (tcp://) on a socket that is not a CURVE server; an
  // error too when the socket's options could not be applied.
  Status bind(const std::string& endpoint);
  // kInvalidInput for a network endpoint (tcp://) on a socket that is not a CURVE client.
  Status connect(const std::string& endpoint);
  // Undoes connect(endpoint), `endpoint` as given there: the connection closes and ZeroMQ
  // stops reconnecting to it. Messages queued for it are dropped.
  Status disconnect(const std::string& endpoint);
  // The endpoint last bound, with the port the system chose for "tcp://ADDR:*"; "" if none.
  std::string last_endpoint() const;
  Status subscribe(std::string_view prefix);

  // Sends all frames as one message, without blocking.
  Result<SendOutcome> send(const Frames& frames);
  // Receives one whole message without blocking; nullopt when none is waiting.
  Result<std::optional<Frames>> receive();

  // How long closing waits for messages still queued to leave (0 when made: they are dropped).
  void set_linger(std::chrono::milliseconds linger);

  void* raw() const { return socket_; }
  bool valid() const { return socket_ != nullptr; }

 private:
  void close();
  Status apply_curve(const SocketOptions& options);
  void* socket_ = nullptr;
  bool router_ = false;
  bool curve_server_ = false;
  bool curve_client_ = false;
  Status options_status_;  // why the options could not be applied, reported by bind/connect
};

// One thing to wait on: a socket, or a plain file descriptor (signalfd, pidfd, pipe).
struct PollEntry {
  void* socket = nullptr;
  int fd = -1;
  bool readable = false;  // set by poll()
};

// Waits until an entry is readable or timeout_ms passes (0 = just look). Returns how many
// entries are readable. EINTR counts as a wake-up with nothing ready.
Result<int> poll(std::vector<PollEntry>& entries, int64_t timeout_ms);

// Whether `endpoint` leaves the host: every transport but ipc:// and inproc:// ("" is neither).
// Such endpoints require CURVE.
bool is_network_endpoint(std::string_view endpoint);

// "ipc://" + path. Fails with kInvalidInput when the path is over the 107-byte limit of Unix
// socket addresses (state directories should be short).
Result<std::string> ipc_endpoint(const std::string& path);

}  // namespace pl::net
