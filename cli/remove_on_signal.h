// A temporary file that must not outlive an interrupted command: while a RemoveOnSignal lives,
// SIGINT, SIGTERM and SIGHUP first remove its file, then end the process as they would have
// (exit status 128 + the signal). Destructors do not run on such a death, so a file that only
// a destructor removes (AtomicFile's temporary) would otherwise be left behind.
#pragma once

#include <filesystem>

namespace pl::cli {

class RemoveOnSignal {
 public:
  // One at a time in a process; a path too long to keep is not guarded (logged).
  explicit RemoveOnSignal(const std::filesystem::path& path);
  ~RemoveOnSignal();  // restores the handlers there were before
  RemoveOnSignal(const RemoveOnSignal&) = delete;
  RemoveOnSignal& operator=(const RemoveOnSignal&) = delete;

 private:
  bool installed_ = false;
};

}  // namespace pl::cli
