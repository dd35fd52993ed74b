// CURVE settings in config sections (docs/multi-host.md): reading them with SectionReader so that
// every problem is reported as file:line:column, and turning them into socket options.
//
// Server (`broker:`, `registry:`):            Client (`worker:`):
//   curve:                                      curve:
//     secret_key: keys/broker.key                 secret_key: keys/node-b.key
//     allow_list: keys/allowed   # file or dir    broker_public_key: keys/broker.pub
//                                                 registry_public_key: keys/registry.pub
//
// Relative paths are relative to the config file's directory. The key files are read while the
// config loads, so a missing, unreadable, malformed or too-open key file is a config error.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/section_reader.h"
#include "common/net/curve_keys.h"
#include "common/net/zap_handler.h"
#include "common/net/zmq_socket.h"

namespace pl::net {

// `key`'s path value resolved against the directory of `r`'s file; "" when not set.
std::filesystem::path config_path(SectionReader& r, std::string_view key);

// Reads `curve` in a server's section `r`. `endpoints` are (config key, value) of the section's
// endpoints: any on the network (tcp://; is_network_endpoint) requires the curve keys (an error
// at that endpoint otherwise).
// nullopt when there is no curve section (or it has errors, which `r` records).
std::optional<CurveServerSetup> read_curve_server(
    SectionReader& r, const std::vector<std::pair<std::string_view, std::string>>& endpoints);

// A client's keys, as read from its section.
struct CurveClientSetup {
  CurveKeyPair client;
  // One server public key per server this client talks to, by config key
  // ("broker_public_key" -> key).
  std::vector<std::pair<std::string, CurveKey>> servers;

  // Socket options for connecting to the server named by `server_key`; nullopt if not set.
  std::optional<CurveClientKeys> keys_for(std::string_view server_key) const;
};

// A client endpoint in a section and the `curve` key naming its server's public key file.
struct ClientEndpoint {
  std::string_view endpoint_key;    // "broker_endpoint"
  std::string endpoint;             // its value, after defaults ("" = not set)
  std::string_view server_key_key;  // "broker_public_key"
};

// Reads `curve` in a client's section `r`: `secret_key` and each endpoint's server key. An
// endpoint on the network (tcp://) requires both (an error at that endpoint otherwise). nullopt
// when there is no curve section (or it has errors, which `r` records).
std::optional<CurveClientSetup> read_curve_client(SectionReader& r,
                                                  const std::vector<ClientEndpoint>& endpoints);

}  // namespace pl::net
