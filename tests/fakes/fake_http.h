// A minimal HTTP/1.1 server for tests: plain sockets, one thread per connection, one request
// per connection (every reply says Connection: close). Only what the fake LLM server needs:
// Content-Length bodies, 100-continue, and replies that misbehave on purpose.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace pl::fakes {

struct HttpRequestIn {
  std::string method;
  std::string path;  // with its query string
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// How the server answers.
enum class ReplyMode {
  kNormal,              // status, headers, body
  kHeadersThenSilence,  // status line and headers (promising a body), a few bytes, then nothing
  kSilence,             // nothing at all, connection kept open
  kClose,               // close the connection without a byte
};

struct HttpReply {
  ReplyMode mode = ReplyMode::kNormal;
  int status = 200;
  std::map<std::string, std::string> headers;  // Content-Type defaults to application/json
  std::string body;
  int64_t delay_ms = 0;  // wait this long before answering
};

using Handler = std::function<HttpReply(const HttpRequestIn&)>;

// Listens on 127.0.0.1:`port` (0: a free port). Returns the listening socket and sets `bound`
// to the port in use; -1 on failure (errno says why).
int listen_on_loopback(uint16_t port, uint16_t& bound);

// Accepts connections forever, serving each on its own thread with `handler`. Returns only when
// accept fails for good.
void serve_forever(int listen_fd, const Handler& handler);

// "OK", "Too Many Requests", ... for a status line.
const char* reason_phrase(int status);

}  // namespace pl::fakes
