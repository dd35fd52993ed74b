// The exclusive lock that makes one supervisor per state directory: flock(LOCK_EX) on
// StatePaths::supervisor_lock(), held for the life of the process (the kernel drops it when the
// process dies, however it dies). The file holds the holder's pid, for people.
#pragma once

#include <string>

#include "common/result.h"
#include "supervisor/unique_fd.h"

namespace pl::supervisor {

class StateLock {
 public:
  // kConflict when another process holds it ("another supervisor runs on DIR (pid N)").
  static Result<StateLock> acquire(const std::string& path);

 private:
  UniqueFd fd_;
};

}  // namespace pl::supervisor
