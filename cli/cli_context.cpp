#include "cli/cli_context.h"

#include "common/config/yaml_document.h"
#include "common/state_paths.h"

namespace pl::cli {

int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnavailable:
      return kExitUnavailable;
    case ErrorCode::kInvalidInput:
    case ErrorCode::kNotFound:
      return kExitUsage;
    case ErrorCode::kTimeout:
    case ErrorCode::kRetryLater:
      return kExitTempFail;
    case ErrorCode::kInternal:
      return kExitInternal;
    default:
      return kExitFailed;
  }
}

std::string CliContext::read_config(const std::string& file) {
  auto doc = load_yaml_file(file);
  if (!doc.ok()) return doc.error().message;
  const Value& root = doc->root();
  if (!root.is_object() && !root.is_null()) {
    return to_string(doc->where("")) +
           ": error: a config is a mapping (supervisor:, children:, ...)";
  }
  const Value* supervisor = root.find("supervisor");
  const Value* dir = supervisor ? supervisor->find("state_dir") : nullptr;
  if (dir && !dir->is_string()) {
    return to_string(doc->where("/supervisor/state_dir")) + ": error: state_dir is not a string";
  }
  config_state_dir = dir ? dir->as_string() : "";
  return "";
}

std::filesystem::path CliContext::state_dir() const {
  return resolve_state_dir(state_dir_flag, config_state_dir);
}

}  // namespace pl::cli
