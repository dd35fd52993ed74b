// Where an HTTP endpoint listens, as written in a config: "127.0.0.1:9464", "[::1]:9464",
// "localhost:9464" (= 127.0.0.1), or a port alone, "9464", which means loopback. Port 0 asks the
// kernel for any free port. Host names other than localhost are not resolved: an address is a
// literal, so that what is bound is what was written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pl::supervisor {

struct ListenAddress {
  std::string host;  // an IPv4 or IPv6 literal, without brackets
  uint16_t port = 0;
  bool ipv6 = false;
  bool loopback = false;  // 127.0.0.0/8 or ::1

  // "127.0.0.1:9464", "[::1]:9464".
  std::string display() const;
};

// kInvalidInput with what is wrong ("expected host:port", "port 70000 is out of range").
Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace pl::supervisor
