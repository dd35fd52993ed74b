#include "supervisor/listen_address.h"

#include <arpa/inet.h>

#include <cctype>

namespace pl::supervisor {

std::string ListenAddress::display() const {
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidInput, "\"" + std::string(text) + "\": " + why);
  };
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [ipv6]:port");
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else if (const size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) return bad("write an IPv6 address as [addr]:port");
    if (host.empty()) return bad("expected host:port (write 0.0.0.0:port to listen everywhere)");
  } else {
    host = "127.0.0.1";  // a port alone: loopback
    port_text = text;
  }
  if (port_text.empty() || port_text.size() > 5) return bad("expected a port number");
  uint32_t port = 0;
  for (char c : port_text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return bad("expected a port number");
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 65535) return bad("port " + std::to_string(port) + " is out of range (0 to 65535)");
  if (host == "localhost") host = "127.0.0.1";

  ListenAddress a;
  a.host = host;
  a.port = static_cast<uint16_t>(port);
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    a.loopback = (ntohl(v4.s_addr) >> 24) == 127;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    a.ipv6 = true;
    a.loopback = IN6_IS_ADDR_LOOPBACK(&v6);
  } else {
    return bad("\"" + host +
               "\" is not an IP address (names other than localhost are not resolved)");
  }
  return a;
}

}  // namespace pl::supervisor
