#include "supervisor/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace pl::supervisor {
namespace {

// How often an unfinished write is tried again (a client that does not read).
constexpr std::chrono::milliseconds kWriteRetry{5};
// Accepts per readiness of the listener, so that a flood cannot hold the loop.
constexpr int kAcceptsPerWake = 64;

bool token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '!' || c == '~' || c == '*' || c == '\'' || c == '+' ||
         c == '^' || c == '`' || c == '|' || c == '#' || c == '$' || c == '%' || c == '&';
}

}  // namespace

ParsedHead parse_request_head(std::string_view bytes, size_t max_bytes) {
  ParsedHead p;
  size_t end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) end = bytes.find("\n\n");
  if (end == std::string_view::npos) {
    p.status = bytes.size() >= max_bytes ? HeadStatus::kTooLarge : HeadStatus::kIncomplete;
    return p;
  }
  if (end > max_bytes) {
    p.status = HeadStatus::kTooLarge;
    return p;
  }
  size_t line_end = bytes.find('\n');
  std::string_view line = bytes.substr(0, line_end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto bad = [&](std::string why) {
    p.status = HeadStatus::kBad;
    p.error = std::move(why);
    return p;
  };
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
    return bad("expected \"METHOD /path HTTP/1.x\"");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), token_char)) {
    return bad("bad method");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return bad("unsupported version");
  if (target.empty() || target.front() != '/') return bad("the target must be a path");
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("bad character in the path");
  }
  p.request.method = std::string(method);
  p.request.path = std::string(target.substr(0, target.find('?')));
  if (method != "GET" && method != "HEAD") {
    p.status = HeadStatus::kMethodNotAllowed;
    return p;
  }
  p.status = HeadStatus::kComplete;
  return p;
}

std::string_view status_reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string serialize_response(const HttpResponse& r, bool head_only) {
  std::string out =
      "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(status_reason(r.status)) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\n";
  out += "Connection: close\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

// ---- The server ------------------------------------------------------------------------------

Result<std::unique_ptr<HttpServer>> HttpServer::listen(const ListenAddress& address,
                                                       HttpLimits limits) {
  const int family = address.ipv6 ? AF_INET6 : AF_INET;
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket for " + address.display(), errno);
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (address.ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(address.port);
    ::inet_pton(AF_INET6, address.host.c_str(), &a->sin6_addr);
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(address.port);
    ::inet_pton(AF_INET, address.host.c_str(), &a->sin_addr);
    length = sizeof *a;
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    return errno_error("bind " + address.display(), errno);
  }
  if (::listen(fd.get(), 64) != 0) return errno_error("listen on " + address.display(), errno);
  ListenAddress bound = address;
  socklen_t got = sizeof storage;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&storage), &got) == 0) {
    bound.port = ntohs(address.ipv6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                                    : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(fd), std::move(bound), limits));
}

HttpServer::~HttpServer() = default;

std::vector<int> HttpServer::poll_fds() const {
  std::vector<int> fds{listener_.get()};
  for (const auto& [id, c] : connections_) {
    if (c.phase == Phase::kReading) fds.push_back(c.fd.get());
  }
  return fds;
}

void HttpServer::on_readable(const std::vector<int>& fds, TimePoint now) {
  for (int fd : fds) {
    if (fd == listener_.get()) {
      accept_all(now);
      continue;
    }
    auto it = by_fd_.find(fd);
    if (it == by_fd_.end()) continue;
    auto c = connections_.find(it->second);
    if (c != connections_.end() && c->second.phase == Phase::kReading) {
      read_from(c->first, c->second, now);
    }
  }
}

void HttpServer::accept_all(TimePoint now) {
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;  // EAGAIN, or an error about that one connection: either way, done for now
    if (connections_.size() >= limits_.max_connections) {
      ++counters_.refused_busy;
      HttpResponse busy;
      busy.status = 503;
      busy.body = "too many connections\n";
      const std::string bytes = serialize_response(busy, false);
      // Best effort, never blocking: a fresh socket's buffer takes these few bytes.
      (void)::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      continue;
    }
    ++counters_.accepted;
    const ConnectionId id = next_id_++;
    Connection c;
    c.read_deadline = now + limits_.request_timeout;
    c.deadline = now + limits_.response_timeout;
    by_fd_[fd.get()] = id;
    c.fd = std::move(fd);
    auto [it, inserted] = connections_.emplace(id, std::move(c));
    // Data often comes with the connection: read at once.
    read_from(id, it->second, now);
  }
}

void HttpServer::read_from(ConnectionId id, Connection& c, TimePoint now) {
  char buf[2048];
  for (;;) {
    const size_t room =
        limits_.max_request_bytes + 4 - std::min(c.in.size(), limits_.max_request_bytes + 4);
    if (room == 0) break;
    const ssize_t n = ::recv(c.fd.get(), buf, std::min(sizeof buf, room), MSG_DONTWAIT);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      // The client closed before a whole request: nothing to answer.
      if (parse_request_head(c.in, limits_.max_request_bytes).status == HeadStatus::kIncomplete) {
        close(id);
        return;
      }
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    close(id);
    return;
  }
  ParsedHead head = parse_request_head(c.in, limits_.max_request_bytes);
  HttpResponse error;
  switch (head.status) {
    case HeadStatus::kIncomplete:
      return;
    case HeadStatus::kComplete:
      c.phase = Phase::kWaiting;
      c.head_only = head.request.method == "HEAD";
      requests_.emplace_back(id, std::move(head.request));
      return;
    case HeadStatus::kBad:
      error.status = 400;
      error.body = head.error + "\n";
      break;
    case HeadStatus::kTooLarge:
      error.status = 431;
      error.body =
          "the request head is over " + std::to_string(limits_.max_request_bytes) + " bytes\n";
      break;
    case HeadStatus::kMethodNotAllowed:
      error.status = 405;
      error.body = "only GET and HEAD\n";
      error.headers.emplace_back("Allow", "GET, HEAD");
      break;
  }
  ++counters_.bad_requests;
  ++counters_.bad_by_status[error.status];
  send(id, c, error, now);
}

std::vector<std::pair<HttpServer::ConnectionId, HttpRequest>> HttpServer::take_requests() {
  return std::exchange(requests_, {});
}

void HttpServer::respond(ConnectionId id, const HttpResponse& response, TimePoint now) {
  auto it = connections_.find(id);
  if (it == connections_.end() || it->second.phase != Phase::kWaiting) return;
  send(id, it->second, response, now);
}

void HttpServer::send(ConnectionId id, Connection& c, const HttpResponse& r, TimePoint now) {
  c.out = serialize_response(r, c.head_only);
  c.written = 0;
  c.phase = Phase::kWriting;
  c.retry_at = now + kWriteRetry;
  if (flush(c)) close(id);
}

bool HttpServer::flush(Connection& c) {
  while (c.written < c.out.size()) {
    const ssize_t n = ::send(c.fd.get(), c.out.data() + c.written, c.out.size() - c.written,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.written += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    return true;  // the client went away: nothing more to do for it
  }
  return true;
}

void HttpServer::close(ConnectionId id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  // Unread input would turn the close into a reset that can destroy the response in flight.
  ::shutdown(c.fd.get(), SHUT_WR);
  char sink[1024];
  for (int i = 0; i < 8 && ::recv(c.fd.get(), sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
  }
  by_fd_.erase(c.fd.get());
  connections_.erase(it);
}

void HttpServer::on_timer(TimePoint now) {
  std::vector<ConnectionId> done;
  for (auto& [id, c] : connections_) {
    const bool late = now >= c.deadline || (c.phase == Phase::kReading && now >= c.read_deadline);
    if (late) {
      ++counters_.timed_out;
      done.push_back(id);
    } else if (c.phase == Phase::kWriting && now >= c.retry_at) {
      if (flush(c)) done.push_back(id);
      c.retry_at = now + kWriteRetry;
    }
  }
  for (ConnectionId id : done) close(id);
}

std::optional<TimePoint> HttpServer::next_deadline() const {
  std::optional<TimePoint> next;
  for (const auto& [id, c] : connections_) {
    TimePoint t = c.deadline;
    if (c.phase == Phase::kReading) t = std::min(t, c.read_deadline);
    if (c.phase == Phase::kWriting) t = std::min(t, c.retry_at);
    if (!next || t < *next) next = t;
  }
  return next;
}

}  // namespace pl::supervisor
