// ZeroMQ sockets with our conventions applied, behind a header that does not pull in cppzmq.
//
// Conventions (DESIGN.md §3, §11): finite high-water marks, ZMQ_MAXMSGSIZE set, ZMQ_LINGER 0
// so that closing never hangs, ZMQ_ROUTER_MANDATORY on ROUTERs so that a message to an unknown
// peer is an error we see instead of a silent drop, ipc:// socket files mode 0600.
// Nothing here blocks: sends and receives are non-blocking and waits go through poll() with a
// timeout. Errors are values; no exception leaves this API.
// Thread safety: as ZeroMQ's: a socket belongs to one thread; a Context is thread-safe.
#pragma once

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

enum class SocketKind { kRouter, kDealer, kPub, kSub, kPair };

struct SocketOptions {
  int send_hwm = 10000;
  int recv_hwm = 10000;
  int64_t max_message_bytes = 16 * 1024 * 1024;
  std::string routing_id;  // a DEALER's identity as its ROUTER sees it; "" = ZeroMQ picks
  // Reconnect quickly after a peer restarts; ZeroMQ's default 100 ms is our floor too.
  int reconnect_ivl_ms = 50;
  int reconnect_ivl_max_ms = 1000;
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
  Status bind(const std::string& endpoint);
  Status connect(const std::string& endpoint);
  Status subscribe(std::string_view prefix);

  // Sends all frames as one message, without blocking.
  Result<SendOutcome> send(const Frames& frames);
  // Receives one whole message without blocking; nullopt when none is waiting.
  Result<std::optional<Frames>> receive();

  void* raw() const { return socket_; }
  bool valid() const { return socket_ != nullptr; }

 private:
  void close();
  void* socket_ = nullptr;
  bool router_ = false;
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

// "ipc://" + path. Fails with kInvalidInput when the path is over the 107-byte limit of Unix
// socket addresses (state directories should be short).
Result<std::string> ipc_endpoint(const std::string& path);

}  // namespace pl::net
