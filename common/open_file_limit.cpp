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
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

rlimit inherited_open_file_limit() {
  if (raised) return inherited;
  rlimit now{};
  ::getrlimit(RLIMIT_NOFILE, &now);
  return now;
}

}  // namespace pl
