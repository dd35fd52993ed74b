// A minimal HTTP/1.1 server for the metrics and health endpoints, driven by the owner's poll
// loop: no thread, no blocking call, every connection bounded.
//
// - GET and HEAD only (405 otherwise); the request head (request line and headers) must fit in
//   `max_request_bytes` (431 otherwise) and arrive within `request_timeout` of the accept (the
//   connection is closed otherwise). A request body is not read. One request per connection:
//   every response says "Connection: close".
// - At most `max_connections` at once; a connection beyond them is answered 503 at once.
// - A complete request is handed to the owner (take_requests) and answered whenever the owner
//   calls respond(); a connection not answered within `response_timeout` of its accept is
//   closed. Responses are written without blocking; a client that does not read gets what fits
//   in its socket buffer, the rest retried every few ms until the deadline.
// Nothing a client sends or fails to send can block or crash the owner. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "supervisor/listen_address.h"
#include "supervisor/unique_fd.h"

namespace pl::supervisor {

struct HttpRequest {
  std::string method;  // GET | HEAD
  std::string path;    // without the query string
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones
};

// Parsing a request head, pure: kIncomplete until "\r\n\r\n" (or "\n\n") has arrived.
enum class HeadStatus { kIncomplete, kComplete, kBad, kTooLarge, kMethodNotAllowed };
struct ParsedHead {
  HeadStatus status = HeadStatus::kIncomplete;
  HttpRequest request;
  std::string error;  // for kBad
};
ParsedHead parse_request_head(std::string_view bytes, size_t max_bytes);

// The bytes of a response ("HTTP/1.1 200 OK\r\n..."), without the body for a HEAD request.
std::string serialize_response(const HttpResponse& response, bool head_only);
std::string_view status_reason(int status);

struct HttpLimits {
  size_t max_connections = 16;
  size_t max_request_bytes = 8192;
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds response_timeout{10000};
};

class HttpServer {
 public:
  using ConnectionId = uint64_t;

  // Binds and listens (non-blocking, close-on-exec). kIo naming the address when it cannot.
  static Result<std::unique_ptr<HttpServer>> listen(const ListenAddress& address,
                                                    HttpLimits limits);
  ~HttpServer();

  // The address actually bound: the port the kernel chose when 0 was asked for.
  const ListenAddress& bound() const { return bound_; }

  // File descriptors to poll for reading: the listener and connections still reading.
  std::vector<int> poll_fds() const;
  // Handles the fds that poll found readable: accepts, reads, answers bad requests itself.
  void on_readable(const std::vector<int>& fds, TimePoint now);
  // Complete requests waiting for an answer, oldest first.
  std::vector<std::pair<ConnectionId, HttpRequest>> take_requests();
  // Answers a request taken; a no-op when its connection has gone (timed out).
  void respond(ConnectionId id, const HttpResponse& response, TimePoint now);
  // Closes connections past their deadlines and retries unfinished writes.
  void on_timer(TimePoint now);
  // When on_timer has something to do; nullopt with no connection open.
  std::optional<TimePoint> next_deadline() const;

  size_t open_connections() const { return connections_.size(); }
  // Requests refused for lack of a free connection, answered 4xx, timed out: for metrics.
  struct Counters {
    uint64_t accepted = 0;
    uint64_t refused_busy = 0;
    uint64_t bad_requests = 0;                // answered here, never handed over: the sum of
    std::map<int, uint64_t> bad_by_status;    // these, by status (400, 405, 431)
    uint64_t timed_out = 0;  // closed unanswered: no whole head in time, or no answer in time
  };
  const Counters& counters() const { return counters_; }

 private:
  enum class Phase { kReading, kWaiting, kWriting };
  struct Connection {
    UniqueFd fd;
    Phase phase = Phase::kReading;
    std::string in;
    std::string out;
    size_t written = 0;
    bool head_only = false;
    TimePoint read_deadline{};
    TimePoint deadline{};
    TimePoint retry_at{};  // kWriting: when to try the rest again
  };

  HttpServer(UniqueFd listener, ListenAddress bound, HttpLimits limits)
      : listener_(std::move(listener)), bound_(std::move(bound)), limits_(limits) {}
  void accept_all(TimePoint now);
  void read_from(ConnectionId id, Connection& c, TimePoint now);
  void send(ConnectionId id, Connection& c, const HttpResponse& r, TimePoint now);
  // Writes what it can; true when all is out (the connection is then closed).
  bool flush(Connection& c);
  void close(ConnectionId id);

  UniqueFd listener_;
  ListenAddress bound_;
  HttpLimits limits_;
  std::map<ConnectionId, Connection> connections_;
  std::map<int, ConnectionId> by_fd_;
  std::vector<std::pair<ConnectionId, HttpRequest>> requests_;
  ConnectionId next_id_ = 1;
  Counters counters_;
};

}  // namespace pl::supervisor
