// The environment each child runs with: the supervisor's own, minus what belongs to the
// supervisor alone (its systemd notify socket, watchdog and socket activation), plus the
// child's `env` from the config, plus the contract variables, which always win:
//   NOTIFY_SOCKET, PIPELINE_CHILD_NAME, PIPELINE_STATE_DIR, PIPELINE_CONFIG, and WATCHDOG_USEC
//   when the child has a watchdog.
// Pure.
#pragma once

#include <string>
#include <vector>

#include "supervisor/child_spec.h"

namespace pl::supervisor {

struct ChildEnvironment {
  std::vector<std::string> inherited;  // "KEY=VALUE", already filtered
  std::string notify_socket;
  std::string state_dir;
  std::string config_path;

  // `environ` filtered of the supervisor's own variables.
  static std::vector<std::string> filter_inherited(char** environ);

  std::vector<std::string> build(const std::string& child_name, const ProcessSpec& spec) const;
};

}  // namespace pl::supervisor
