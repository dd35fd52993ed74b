// A tiny HTTP/1.1 client for tests of the metrics endpoint: one request per connection, every
// step bounded by a deadline.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace pl::test {

struct HttpReply {
  int status = 0;  // 0: no answer
  std::string headers;
  std::string body;
};

// "127.0.0.1:1234" -> the port.
inline int port_of(const std::string& listen) {
  const auto colon = listen.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(listen.c_str() + colon + 1);
}

// Connects to 127.0.0.1:port; -1 on failure.
inline int http_connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `raw` as is and reads until the server closes, or the timeout.
inline HttpReply http_raw(int port, const std::string& raw,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  HttpReply reply;
  const int fd = http_connect(port);
  if (fd < 0) return reply;
  ::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
  std::string data;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const auto head_end = data.find("\r\n\r\n");
  if (data.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return reply;
  reply.status = std::atoi(data.c_str() + 9);
  reply.headers = data.substr(0, head_end);
  reply.body = data.substr(head_end + 4);
  return reply;
}

inline HttpReply http_get(int port, const std::string& path,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return http_raw(port, "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n", timeout);
}

// The value of the sample written exactly as `series` ("name{labels}" or "name"), or -1.
inline double metric(const std::string& text, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const auto at = ("\n" + text).find(key);
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + key.size() - 1, nullptr);
}

}  // namespace pl::test
