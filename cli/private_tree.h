// A private process tree for one pipelinectl invocation: what `pipelinectl run` starts when no
// tree runs on the state directory. It lives in a fresh temporary state directory, runs the
// built-in default config, and is stopped (and its directory removed) when this object is
// destroyed — also if pipelinectl dies, since the supervisor gets SIGTERM when its parent goes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "common/result.h"

namespace pl::cli {

class PrivateTree {
 public:
  // Starts pipeline-supervisor (found beside this executable) and waits until it reports
  // READY=1, its exit, or `ready_timeout`. On failure the error includes the tail of its log.
  static Result<std::unique_ptr<PrivateTree>> start(std::chrono::milliseconds ready_timeout);
  ~PrivateTree();
  PrivateTree(const PrivateTree&) = delete;
  PrivateTree& operator=(const PrivateTree&) = delete;

  const std::filesystem::path& state_dir() const { return state_dir_; }
  // Stops the tree: SIGTERM, then SIGKILL to its process group after `grace`. Idempotent.
  void stop(std::chrono::milliseconds grace);
  // The last lines of the supervisor's log, for error messages.
  std::string log_tail(size_t lines) const;

 private:
  PrivateTree() = default;
  std::filesystem::path state_dir_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool stopped_ = false;
};

}  // namespace pl::cli
