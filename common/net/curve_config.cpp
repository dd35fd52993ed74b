#include "common/net/curve_config.h"

namespace pl::net {
namespace fs = std::filesystem;

fs::path config_path(SectionReader& r, std::string_view key) {
  const std::string value = r.string(key);
  if (value.empty()) return {};
  fs::path path(value);
  if (path.is_relative()) {
    const fs::path file(r.document().file());
    path = (file.has_parent_path() ? file.parent_path() : fs::path(".")) / path;
  }
  return path.lexically_normal();
}

std::optional<CurveServerSetup> read_curve_server(
    SectionReader& r, const std::vector<std::pair<std::string_view, std::string>>& endpoints) {
  const bool has_curve = r.has("curve");
  SectionReader curve = r.nested("curve", {"secret_key", "allow_list"});
  std::optional<CurveServerSetup> setup;
  if (has_curve) {
    CurveServerSetup s;
    s.secret_key_file = config_path(curve, "secret_key");
    s.allow_list = config_path(curve, "allow_list");
    bool ok = true;
    if (s.secret_key_file.empty()) {
      r.fail("curve", "secret_key is required (the server's secret key file)");
      ok = false;
    } else if (auto pair = load_secret_key_file(s.secret_key_file); !pair.ok()) {
      curve.fail("secret_key", pair.error().message);
      ok = false;
    } else {
      s.server = *pair;
    }
    if (s.allow_list.empty()) {
      r.fail("curve",
             "allow_list is required (a file of client public keys, or a directory of .pub files)");
      ok = false;
    } else if (auto list = AllowList::load(s.allow_list); !list.ok()) {
      curve.fail("allow_list", list.error().message);
      ok = false;
    }
    if (ok) setup = std::move(s);
  }
  for (const auto& [key, endpoint] : endpoints) {
    if (is_network_endpoint(endpoint) && !has_curve) {
      r.fail(key, "an endpoint on the network requires CURVE: set " +
                      r.display("curve.secret_key") + " and " + r.display("curve.allow_list") +
                      " (docs/multi-host.md)");
    }
  }
  return setup;
}

std::optional<CurveClientKeys> CurveClientSetup::keys_for(std::string_view server_key) const {
  for (const auto& [name, key] : servers) {
    if (name == server_key) {
      return CurveClientKeys{key.raw(), client.public_key.raw(), client.secret_key.raw()};
    }
  }
  return std::nullopt;
}

std::optional<CurveClientSetup> read_curve_client(SectionReader& r,
                                                  const std::vector<ClientEndpoint>& endpoints) {
  const bool has_curve = r.has("curve");
  std::vector<std::string_view> known{"secret_key"};
  for (const auto& e : endpoints) known.push_back(e.server_key_key);
  SectionReader curve = r.nested("curve", known);
  CurveClientSetup setup;
  bool ok = has_curve;
  if (has_curve) {
    const fs::path secret = config_path(curve, "secret_key");
    if (secret.empty()) {
      r.fail("curve", "secret_key is required (this client's secret key file)");
      ok = false;
    } else if (auto pair = load_secret_key_file(secret); !pair.ok()) {
      curve.fail("secret_key", pair.error().message);
      ok = false;
    } else {
      setup.client = *pair;
    }
    for (const auto& e : endpoints) {
      const fs::path file = config_path(curve, e.server_key_key);
      if (file.empty()) continue;
      if (auto key = load_public_key_file(file); !key.ok()) {
        curve.fail(e.server_key_key, key.error().message);
        ok = false;
      } else {
        setup.servers.emplace_back(std::string(e.server_key_key), *key);
      }
    }
  }
  for (const auto& e : endpoints) {
    if (!is_network_endpoint(e.endpoint)) continue;
    if (!has_curve) {
      r.fail(e.endpoint_key, "an endpoint on the network requires CURVE: set " +
                                 r.display("curve.secret_key") + " and " +
                                 r.display("curve." + std::string(e.server_key_key)) +
                                 " (docs/multi-host.md)");
    } else if (!curve.has(e.server_key_key)) {
      r.fail(e.endpoint_key, "an endpoint on the network requires the server's public key: set " +
                                 r.display("curve." + std::string(e.server_key_key)));
    }
  }
  if (!ok) return std::nullopt;
  return setup;
}

}  // namespace pl::net
