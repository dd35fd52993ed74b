// Supervisor config files: the YAML reader of common/config and the supervision tree reader.
//
// Commands resolve through PATH=/usr/bin:/bin (so `true`, `sleep` and `sh` are found and the
// checks after a command run) and relative cwds against /nonexistent-fuzz-base.
//
// Properties: neither reader crashes or throws; failures are kInvalidInput, kNotFound or
// kTooLarge with a message; an accepted tree stays within its documented bounds (depth, names
// without '.', pools within max_children).
#include "common/config/yaml_document.h"
#include "supervisor/config_loader.h"
#include "tests/fuzz/fuzz_entry.h"
#include "tests/fuzz/fuzz_support.h"

namespace pl::fuzz {
namespace {

Finding check_load_error(const Error& error, std::string_view what) {
  if (error.code != ErrorCode::kInvalidInput && error.code != ErrorCode::kNotFound &&
      error.code != ErrorCode::kTooLarge) {
    return std::string(what) + " failed with code " +
           std::to_string(static_cast<int>(error.code)) + ": " + error.message;
  }
  return check_error(error, what);
}

Finding check_tree(const supervisor::ChildSpec& spec, int depth) {
  if (depth > supervisor::kMaxTreeDepth + 1) return "an accepted tree deeper than kMaxTreeDepth";
  if (spec.name.find('.') != std::string::npos) return "an accepted name with a '.'";
  if (spec.type == supervisor::ChildType::kPool && spec.count > spec.max_children) {
    return "an accepted pool with more members than max_children";
  }
  for (const auto& child : spec.children) {
    if (Finding f = check_tree(child, depth + 1)) return f;
  }
  return std::nullopt;
}

}  // namespace

Finding supervisor_config(std::string_view input) {
  auto doc = parse_yaml(input, "fuzz.yaml");
  if (!doc.ok()) return check_load_error(doc.error(), "parse_yaml");
  // Every location the document knows is in the file.
  if (doc->where("").file != "fuzz.yaml") return "the root's location names another file";

  supervisor::CommandLookup lookup;
  lookup.path_env = "/usr/bin:/bin";
  auto tree = supervisor::read_tree_spec(*doc, lookup, "/nonexistent-fuzz-base");
  if (!tree.ok()) return check_load_error(tree.error(), "read_tree_spec");
  if (tree->root.type != supervisor::ChildType::kSupervisor) return "the root is not a supervisor";
  return check_tree(tree->root, 0);
}

}  // namespace pl::fuzz

PL_FUZZ_TARGET(supervisor_config)
