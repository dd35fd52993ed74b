// Finding the program a child's `command` names, once, when the config is loaded (so that a
// restart does no lookups and a typo is a config error rather than a crash loop).
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace pl::supervisor {

struct CommandLookup {
  std::filesystem::path beside;  // the supervisor's own directory: searched first
  std::string path_env;          // the PATH to search next ("a:b:c")

  // The lookup a running supervisor uses: its executable's directory, then $PATH.
  static CommandLookup for_this_process();

  // The absolute path of the program `name` refers to.
  // - A name with a '/' is a path, relative to `cwd` when not absolute.
  // - A bare name is looked up in `beside`, then in each PATH entry.
  // kNotFound when nothing executable is there, saying where it looked.
  Result<std::string> resolve(const std::string& name, const std::filesystem::path& cwd) const;
};

}  // namespace pl::supervisor
