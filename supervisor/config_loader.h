// Reading a supervision tree from a config file: the `supervisor` section (the root's flags)
// and the `children` list, checked in full before anything runs.
//
// Every problem is reported, one per line, as "file:line:column: what": unknown keys (with a
// did-you-mean), wrong types, out-of-range numbers (a negative intensity), duplicate names
// among siblings, names with a '.', a command that is not found, a significant child that is
// permanent or whose supervisor has auto_shutdown: never, a pool count over max_children.
// The top-level sections other processes read (broker, worker, registry, providers, pricing,
// observability, limits) are accepted unread; any other top-level key is an error.
//
// Relative `cwd`s and command paths are resolved against `base_dir` (the supervisor's working
// directory); bare command names through `lookup`.
#pragma once

#include <filesystem>

#include "common/config/yaml_document.h"
#include "common/result.h"
#include "supervisor/child_spec.h"
#include "supervisor/command_lookup.h"

namespace pl::supervisor {

// Nested supervisors deeper than this are refused (a config error, not a stack overflow).
inline constexpr int kMaxTreeDepth = 16;

// Loads and checks `config_file`. kNotFound when it does not exist, kInvalidInput with every
// problem otherwise. On success, TreeSpec::config_path is the file's absolute path.
Result<TreeSpec> load_tree_spec(const std::filesystem::path& config_file,
                                const CommandLookup& lookup,
                                const std::filesystem::path& base_dir);

// The same, for a document already parsed.
Result<TreeSpec> read_tree_spec(const YamlDocument& doc, const CommandLookup& lookup,
                                const std::filesystem::path& base_dir);

}  // namespace pl::supervisor
