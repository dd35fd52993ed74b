// The sections of a tree's config file that its programs read when they start: `broker:`,
// `worker:`, `registry:`, `providers:` and `pricing:`. The supervisor checks them as those
// programs will read them, so that `--check` and a reload catch a mistake there before a program
// meets it at its next start (and, at boot, brings the whole tree down). It also tells a reload
// which of them changed: their programs read them only at start.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "supervisor/config_loader.h"

namespace pl::supervisor {

// Every problem of those sections, one per line, each naming file:line:column.
Status check_program_sections(const std::string& config_path);

// load_tree_spec and check_program_sections together (what --check and a reload do): every
// problem of the file at once, the tree's first; a file that is not YAML at all is said once.
Result<TreeSpec> load_checked_config(const std::filesystem::path& config_file,
                                     const CommandLookup& lookup,
                                     const std::filesystem::path& base_dir);

// The sections as written (a map of section name to its value), to compare across reloads.
Result<Value> program_sections(const std::string& config_path);
// The names of the sections that differ between two such maps.
std::vector<std::string> changed_sections(const Value& before, const Value& after);

}  // namespace pl::supervisor
