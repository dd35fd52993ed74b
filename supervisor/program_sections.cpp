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

// Problems from several readers of one file, each said once: several programs read some keys
// (providers.default_provider), and every reader reports a file that is not YAML.
class Problems {
 public:
  void add(const std::string& message) {
    for (size_t start = 0; start < message.size();) {
      size_t end = message.find('\n', start);
      if (end == std::string::npos) end = message.size();
      std::string line = message.substr(start, end - start);
      start = end + 1;
      if (line.empty() || !said_.insert(line).second) continue;
      if (!text_.empty()) text_ += "\n";
      text_ += line;
    }
  }
  template <class T>
  void add_if_failed(const Result<T>& loaded) {
    if (!loaded.ok()) add(loaded.error().message);
  }
  bool empty() const { return text_.empty(); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::set<std::string, std::less<>> said_;
};

void collect_program_sections(const std::string& config_path, Problems& problems) {
  problems.add_if_failed(broker::load_broker_config(config_path));
  problems.add_if_failed(worker::load_worker_config(config_path));
  problems.add_if_failed(registry::load_registry_config(config_path));
  auto doc = load_yaml_file(config_path);
  if (!doc.ok()) {
    problems.add(doc.error().message);
    return;
  }
  problems.add_if_failed(worker::providers::read_providers_config(*doc));
  problems.add_if_failed(worker::llm::read_pricing_config(*doc));
}

}  // namespace

Status check_program_sections(const std::string& config_path) {
  Problems problems;
  collect_program_sections(config_path, problems);
  if (problems.empty()) return ok_status();
  return make_error(ErrorCode::kInvalidInput, problems.text());
}

Result<TreeSpec> load_checked_config(const std::filesystem::path& config_file,
                                     const CommandLookup& lookup,
                                     const std::filesystem::path& base_dir) {
  auto tree = load_tree_spec(config_file, lookup, base_dir);
  if (config_file.empty()) return tree;
  Problems problems;
  if (!tree.ok()) problems.add(tree.error().message);
  collect_program_sections(config_file.string(), problems);
  if (problems.empty()) return tree;
  // Nothing beyond the tree's own problems (a missing file, one that is not YAML): its error,
  // with its code.
  if (!tree.ok() && problems.text() == tree.error().message) return tree;
  return make_error(ErrorCode::kInvalidInput, problems.text());
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
