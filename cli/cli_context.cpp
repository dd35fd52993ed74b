#include "cli/cli_context.h"

#include "common/config/yaml_document.h"
#include "common/state_paths.h"

namespace pl::cli {

std::filesystem::path CliContext::state_dir() const {
  std::string from_config;
  if (!config_flag.empty()) {
    // A config that does not load is reported by whoever needs it; here it only may name a dir.
    if (auto doc = load_yaml_file(config_flag); doc.ok()) {
      if (const Value* sup = doc->root().find("supervisor")) {
        from_config = sup->get_string("state_dir");
      }
    }
  }
  return resolve_state_dir(state_dir_flag, from_config);
}

}  // namespace pl::cli
