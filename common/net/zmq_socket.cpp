#include "common/net/zmq_socket.h"

#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <zmq.h>

// A draft option in libzmq 4.3's header, supported by the library we build against (Debian
// builds it with the draft API); setting it is checked, so an older library fails closed.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

namespace pl::net {
namespace {

Error zmq_error(std::string_view what) {
  std::string text(what);
  text.append(": ").append(zmq_strerror(zmq_errno()));
  return make_error(ErrorCode::kIo, std::move(text));
}

int zmq_type(SocketKind kind) {
  switch (kind) {
    case SocketKind::kRouter:
      return ZMQ_ROUTER;
    case SocketKind::kDealer:
      return ZMQ_DEALER;
    case SocketKind::kPub:
      return ZMQ_PUB;
    case SocketKind::kSub:
      return ZMQ_SUB;
    case SocketKind::kPair:
      return ZMQ_PAIR;
    case SocketKind::kRep:
      return ZMQ_REP;
  }
  return ZMQ_PAIR;
}

void set_int(void* s, int option, int value) { zmq_setsockopt(s, option, &value, sizeof value); }

}  // namespace

Context::Context() : ctx_(zmq_ctx_new()) {
  // Our processes are small; one I/O thread is plenty and keeps the core count honest.
  zmq_ctx_set(ctx_, ZMQ_IO_THREADS, 1);
  zmq_ctx_set(ctx_, ZMQ_BLOCKY, 0);  // sockets default to linger 0 as well
}

Context::~Context() { zmq_ctx_term(ctx_); }

Socket::Socket(Context& context, SocketKind kind, const SocketOptions& options)
    : socket_(zmq_socket(context.raw(), zmq_type(kind))), router_(kind == SocketKind::kRouter) {
  if (!socket_) return;
  set_int(socket_, ZMQ_LINGER, 0);
  set_int(socket_, ZMQ_SNDHWM, options.send_hwm);
  set_int(socket_, ZMQ_RCVHWM, options.recv_hwm);
  const int64_t max_bytes = options.max_message_bytes;
  zmq_setsockopt(socket_, ZMQ_MAXMSGSIZE, &max_bytes, sizeof max_bytes);
  set_int(socket_, ZMQ_RECONNECT_IVL, options.reconnect_ivl_ms);
  set_int(socket_, ZMQ_RECONNECT_IVL_MAX, options.reconnect_ivl_max_ms);
  if (router_) set_int(socket_, ZMQ_ROUTER_MANDATORY, 1);
  if (!options.routing_id.empty()) {
    zmq_setsockopt(socket_, ZMQ_ROUTING_ID, options.routing_id.data(), options.routing_id.size());
  }
  options_status_ = apply_curve(options);
}

Status Socket::apply_curve(const SocketOptions& options) {
  struct Setting {
    int option;
    std::string_view value;
    const char* name;
  };
  auto apply = [&](std::initializer_list<Setting> settings) -> Status {
    for (const auto& s : settings) {
      if (zmq_setsockopt(socket_, s.option, s.value.data(), s.value.size()) != 0) {
        return zmq_error(std::string("set ") + s.name);
      }
    }
    return ok_status();
  };
  const int one = 1;
  const std::string_view on(reinterpret_cast<const char*>(&one), sizeof one);
  if (options.curve_server && options.curve_client) {
    return make_error(ErrorCode::kInternal, "a socket cannot be a CURVE server and client at once");
  }
  if (const auto& server = options.curve_server) {
    if (server->zap_domain.empty()) {
      return make_error(ErrorCode::kInternal, "a CURVE server socket needs a ZAP domain");
    }
    if (auto st = apply({{ZMQ_CURVE_SERVER, on, "ZMQ_CURVE_SERVER (is libzmq built with CURVE?)"},
                         {ZMQ_CURVE_SECRETKEY, server->secret_key, "ZMQ_CURVE_SECRETKEY"},
                         {ZMQ_ZAP_DOMAIN, server->zap_domain, "ZMQ_ZAP_DOMAIN"},
                         {ZMQ_ZAP_ENFORCE_DOMAIN, on,
                          "ZMQ_ZAP_ENFORCE_DOMAIN (libzmq without its draft API cannot)"}});
        !st.ok()) {
      return st;
    }
    curve_server_ = true;
  }
  if (const auto& client = options.curve_client) {
    if (auto st = apply({{ZMQ_CURVE_SERVERKEY, client->server_public_key, "ZMQ_CURVE_SERVERKEY"},
                         {ZMQ_CURVE_PUBLICKEY, client->public_key, "ZMQ_CURVE_PUBLICKEY"},
                         {ZMQ_CURVE_SECRETKEY, client->secret_key, "ZMQ_CURVE_SECRETKEY"}});
        !st.ok()) {
      return st;
    }
    curve_client_ = true;
  }
  return ok_status();
}

Socket::~Socket() { close(); }

Socket::Socket(Socket&& other) noexcept
    : socket_(other.socket_),
      router_(other.router_),
      curve_server_(other.curve_server_),
      curve_client_(other.curve_client_),
      options_status_(std::move(other.options_status_)) {
  other.socket_ = nullptr;
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    socket_ = other.socket_;
    router_ = other.router_;
    curve_server_ = other.curve_server_;
    curve_client_ = other.curve_client_;
    options_status_ = std::move(other.options_status_);
    other.socket_ = nullptr;
  }
  return *this;
}

void Socket::set_linger(std::chrono::milliseconds linger) {
  if (socket_) set_int(socket_, ZMQ_LINGER, static_cast<int>(linger.count()));
}

void Socket::close() {
  if (socket_) zmq_close(socket_);
  socket_ = nullptr;
}

Status Socket::bind(const std::string& endpoint) {
  if (!socket_) return make_error(ErrorCode::kIo, "socket could not be created");
  if (!options_status_.ok()) return options_status_.error().with_context("bind " + endpoint);
  if (is_network_endpoint(endpoint) && !curve_server_) {
    return make_error(ErrorCode::kInvalidInput,
                      "refusing to listen on " + endpoint + " without CURVE: configure keys");
  }
  if (endpoint.rfind("ipc://", 0) == 0) {
    auto checked = ipc_endpoint(endpoint.substr(6));
    if (!checked.ok()) return std::move(checked).error();
  }
  if (zmq_bind(socket_, endpoint.c_str()) != 0) return zmq_error("bind " + endpoint);
  if (endpoint.rfind("ipc://", 0) == 0) {
    const std::string path = endpoint.substr(6);
    if (::chmod(path.c_str(), 0600) != 0) return errno_error("chmod 0600 " + path, errno);
  }
  return ok_status();
}

Status Socket::connect(const std::string& endpoint) {
  if (!socket_) return make_error(ErrorCode::kIo, "socket could not be created");
  if (!options_status_.ok()) return options_status_.error().with_context("connect " + endpoint);
  if (is_network_endpoint(endpoint) && !curve_client_) {
    return make_error(ErrorCode::kInvalidInput,
                      "refusing to connect to " + endpoint + " without CURVE: configure keys");
  }
  if (zmq_connect(socket_, endpoint.c_str()) != 0) return zmq_error("connect " + endpoint);
  return ok_status();
}

Status Socket::disconnect(const std::string& endpoint) {
  if (!socket_) return make_error(ErrorCode::kIo, "socket could not be created");
  if (zmq_disconnect(socket_, endpoint.c_str()) != 0) return zmq_error("disconnect " + endpoint);
  return ok_status();
}

std::string Socket::last_endpoint() const {
  if (!socket_) return "";
  char text[1024] = {};
  size_t size = sizeof text;
  if (zmq_getsockopt(socket_, ZMQ_LAST_ENDPOINT, text, &size) != 0) return "";
  return std::string(text);
}

Status Socket::subscribe(std::string_view prefix) {
  if (zmq_setsockopt(socket_, ZMQ_SUBSCRIBE, prefix.data(), prefix.size()) != 0) {
    return zmq_error("subscribe");
  }
  return ok_status();
}

Result<SendOutcome> Socket::send(const Frames& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const int flags = ZMQ_DONTWAIT | (i + 1 < frames.size() ? ZMQ_SNDMORE : 0);
    if (zmq_send(socket_, frames[i].data(), frames[i].size(), flags) < 0) {
      const int err = zmq_errno();
      // A multipart message is atomic in ZeroMQ: failing on the first frame sends nothing.
      if (err == EAGAIN) return SendOutcome::kWouldBlock;
      if (err == EHOSTUNREACH) return SendOutcome::kUnreachable;
      return zmq_error("send");
    }
  }
  return SendOutcome::kSent;
}

Result<std::optional<Frames>> Socket::receive() {
  Frames frames;
  for (;;) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    const int flags = frames.empty() ? ZMQ_DONTWAIT : 0;  // later parts are already here
    if (zmq_msg_recv(&msg, socket_, flags) < 0) {
      const int err = zmq_errno();
      zmq_msg_close(&msg);
      if (err == EAGAIN && frames.empty()) return std::optional<Frames>();
      if (err == EINTR && frames.empty()) return std::optional<Frames>();
      return zmq_error("receive");
    }
    frames.emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
    const bool more = zmq_msg_more(&msg);
    zmq_msg_close(&msg);
    if (!more) break;
  }
  return std::optional<Frames>(std::move(frames));
}

Result<int> poll(std::vector<PollEntry>& entries, int64_t timeout_ms) {
  std::vector<zmq_pollitem_t> items(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    items[i].socket = entries[i].socket;
    items[i].fd = entries[i].fd;
    items[i].events = ZMQ_POLLIN;
    items[i].revents = 0;
  }
  const int rc = zmq_poll(items.data(), static_cast<int>(items.size()), static_cast<long>(timeout_ms));
  if (rc < 0) {
    if (zmq_errno() == EINTR) {
      for (auto& e : entries) e.readable = false;
      return 0;
    }
    return zmq_error("poll");
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].readable = (items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) != 0;
  }
  return rc;
}

bool is_network_endpoint(std::string_view endpoint) {
  return !endpoint.empty() && endpoint.rfind("ipc://", 0) != 0 &&
         endpoint.rfind("inproc://", 0) != 0;
}

Result<std::string> ipc_endpoint(const std::string& path) {
  constexpr size_t kMaxPath = sizeof(sockaddr_un::sun_path) - 1;
  if (path.size() > kMaxPath) {
    return make_error(ErrorCode::kInvalidInput,
                      "socket path " + path + " is " + std::to_string(path.size()) +
                          " bytes, over the limit of " + std::to_string(kMaxPath) +
                          " for Unix sockets: use a shorter state directory");
  }
  return "ipc://" + path;
}

}  // namespace pl::net
