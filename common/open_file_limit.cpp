#include "common/open_file_limit.h"

#include <atomic>

namespace pl {
namespace {

std::atomic<bool> raised{false};
rlimit inherited{};  // written once, before any thread reads it

}  // namespace

void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  inherited = limit;
  raised = true;
  if (limit.rlim_cur == limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  // Raising the soft limit up to the hard one is always allowed. If it were refused, the program
  // would run with the limit it was given, as before this call: nothing to report at start.
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

rlimit inherited_open_file_limit() {
  if (raised) return inherited;
  rlimit now{};
  ::getrlimit(RLIMIT_NOFILE, &now);
  return now;
}

}  // namespace pl
