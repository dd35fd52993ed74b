#include "supervisor/child_environment.h"

#include <string_view>

#include "common/state_paths.h"

namespace pl::supervisor {
namespace {

// Variables meant for the supervisor itself, never passed down as they are.
constexpr std::string_view kOwnVariables[] = {
    "NOTIFY_SOCKET",      "WATCHDOG_USEC",   "WATCHDOG_PID",        "LISTEN_FDS",
    "LISTEN_PID",         "LISTEN_FDNAMES",  "JOURNAL_STREAM",      "PIPELINE_CHILD_NAME",
    "PIPELINE_STATE_DIR", "PIPELINE_CONFIG", "PIPELINE_SHUTDOWN_MS"};

std::string_view key_of(std::string_view entry) { return entry.substr(0, entry.find('=')); }

}  // namespace

std::vector<std::string> ChildEnvironment::filter_inherited(char** environ) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view key = key_of(*e);
    bool own = false;
    for (auto k : kOwnVariables) own = own || k == key;
    if (!own) out.emplace_back(*e);
  }
  return out;
}

std::vector<std::string> ChildEnvironment::build(const std::string& child_name,
                                                 const ProcessSpec& spec) const {
  std::vector<std::string> out;
  out.reserve(inherited.size() + spec.env.size() + 6);
  auto overridden = [&](std::string_view key) {
    for (const auto& [k, v] : spec.env) {
      if (k == key) return true;
    }
    for (auto k : kOwnVariables) {
      if (k == key) return true;
    }
    return false;
  };
  for (const auto& e : inherited) {
    if (!overridden(key_of(e))) out.push_back(e);
  }
  for (const auto& [k, v] : spec.env) {
    bool own = false;
    for (auto o : kOwnVariables) own = own || o == k;
    if (!own) out.push_back(k + "=" + v);
  }
  out.push_back("NOTIFY_SOCKET=" + notify_socket);
  out.push_back(std::string(kChildNameEnv) + "=" + child_name);
  out.push_back(std::string(kStateDirEnv) + "=" + state_dir);
  out.push_back(std::string(kConfigEnv) + "=" + config_path);
  out.push_back(std::string(kShutdownGraceEnv) + "=" +
                std::to_string(spec.brutal_kill ? 0 : spec.shutdown_ms));
  if (spec.watchdog_ms > 0) out.push_back("WATCHDOG_USEC=" + std::to_string(spec.watchdog_ms * 1000));
  return out;
}

}  // namespace pl::supervisor
