#include "tests/fuzz/fuzz_entry.h"

namespace pl::fuzz {

const std::vector<Target>& all_targets() {
  static const std::vector<Target> targets{
      {"envelope", &envelope},
      {"pipeline", &pipeline},
      {"template", &template_render},
      {"condition", &condition},
      {"expression", &expression},
      {"supervisor_config", &supervisor_config},
      {"json", &json},
      {"csv", &csv},
      {"json_schema", &json_schema},
      {"tool_definition", &tool_definition},
  };
  return targets;
}

}  // namespace pl::fuzz
