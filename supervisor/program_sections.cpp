#include "supervisor/program_sections.h"

#include <set>

#include "broker/broker_config.h"
#include "common/config/yaml_document.h"
#include "registry/registry_config.h"
#include "worker/llm/pricing.h"
#include "worker/providers/provider_config.h"
#include "worker/worker_config.h"

namespace pl::supervisor {
namespace {

constexpr const char* kSections[] = {"broker", "worker", "registry", "providers", "pricing"};

}  // namespace

Status check_program_sections(const std::string& config_path) {
  std::string problems;
  // Several programs read some keys (providers.default_provider): each problem is said once.
  std::set<std::string, std::less<>> said;
  const auto note = [&](const auto& loaded) {
    if (loaded.ok()) return;
    const std::string& message = loaded.error().message;
    for (size_t start = 0; start < message.size();) {
      size_t end = message.find('\n', start);
      if (end == std::string::npos) end = message.size();
      std::string line = message.substr(start, end - start);
      start = end + 1;
      if (line.empty() || !said.insert(line).second) continue;
      if (!problems.empty()) problems += "\n";
      problems += line;
    }
  };
  note(broker::load_broker_config(config_path));
  note(worker::load_worker_config(config_path));
  note(registry::load_registry_config(config_path));
  auto doc = load_yaml_file(config_path);
  if (!doc.ok()) return std::move(doc).error();
  note(worker::providers::read_providers_config(*doc));
  note(worker::llm::read_pricing_config(*doc));
  if (problems.empty()) return ok_status();
  return make_error(ErrorCode::kInvalidInput, problems);
}

Result<TreeSpec> load_checked_config(const std::filesystem::path& config_file,
                                     const CommandLookup& lookup,
                                     const std::filesystem::path& base_dir) {
  auto tree = load_tree_spec(config_file, lookup, base_dir);
  if (config_file.empty() || !load_yaml_file(config_file).ok()) return tree;
  Status programs = check_program_sections(config_file.string());
  if (programs.ok()) return tree;
  if (tree.ok()) return programs.error();
  return make_error(ErrorCode::kInvalidInput,
                    tree.error().message + "\n" + programs.error().message);
}

Result<Value> program_sections(const std::string& config_path) {
  auto doc = load_yaml_file(config_path);
  if (!doc.ok()) return std::move(doc).error();
  Value sections = Value::object();
  for (const char* name : kSections) {
    if (const Value* section = doc->root().find(name)) sections[name] = *section;
  }
  return sections;
}

std::vector<std::string> changed_sections(const Value& before, const Value& after) {
  std::vector<std::string> changed;
  for (const char* name : kSections) {
    const Value* a = before.find(name);
    const Value* b = after.find(name);
    if ((a == nullptr) != (b == nullptr) || (a && !(*a == *b))) changed.emplace_back(name);
  }
  return changed;
}

}  // namespace pl::supervisor
