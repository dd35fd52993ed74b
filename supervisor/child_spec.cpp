#include "supervisor/child_spec.h"

namespace pl::supervisor {

std::string_view to_string(ChildType t) {
  switch (t) {
    case ChildType::kWorker: return "worker";
    case ChildType::kPool: return "pool";
    case ChildType::kSupervisor: return "supervisor";
  }
  return "worker";
}

std::string_view to_string(RestartType t) {
  switch (t) {
    case RestartType::kPermanent: return "permanent";
    case RestartType::kTransient: return "transient";
    case RestartType::kTemporary: return "temporary";
  }
  return "permanent";
}

std::string_view to_string(Strategy s) {
  switch (s) {
    case Strategy::kOneForOne: return "one_for_one";
    case Strategy::kOneForAll: return "one_for_all";
    case Strategy::kRestForOne: return "rest_for_one";
  }
  return "one_for_one";
}

std::string_view to_string(AutoShutdown a) {
  switch (a) {
    case AutoShutdown::kNever: return "never";
    case AutoShutdown::kAnySignificant: return "any_significant";
    case AutoShutdown::kAllSignificant: return "all_significant";
  }
  return "never";
}

std::string_view to_string(ReadyMode r) { return r == ReadyMode::kNotify ? "notify" : "exec"; }

std::string_view to_string(Resource r) {
  switch (r) {
    case Resource::kCpuSeconds: return "cpu_seconds";
    case Resource::kOpenFiles: return "open_files";
    case Resource::kAddressSpace: return "address_space";
    case Resource::kFileSize: return "file_size";
    case Resource::kProcesses: return "processes";
    case Resource::kCoreSize: return "core_size";
    case Resource::kStack: return "stack";
  }
  return "open_files";
}

bool ProcessSpec::launch_differs(const ProcessSpec& other) const {
  return argv != other.argv || executable != other.executable || env != other.env ||
         cwd != other.cwd || ready != other.ready || watchdog_ms != other.watchdog_ms ||
         max_memory_bytes != other.max_memory_bytes || rlimits != other.rlimits;
}

bool should_restart(RestartType restart, bool abnormal) {
  switch (restart) {
    case RestartType::kPermanent: return true;
    case RestartType::kTransient: return abnormal;
    case RestartType::kTemporary: return false;
  }
  return false;
}

}  // namespace pl::supervisor
