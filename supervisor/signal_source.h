// Signals as readable events in the poll loop: the signals are blocked in every thread (block
// them before any thread starts) and read from a signalfd, so a signal never interrupts
// anything and never races the loop.
#pragma once

#include <initializer_list>
#include <vector>

#include "common/result.h"
#include "supervisor/unique_fd.h"

namespace pl::supervisor {

class SignalSource {
 public:
  // Blocks `signals` for this thread (and threads it starts later) and opens a signalfd.
  static Result<SignalSource> open(std::initializer_list<int> signals);
  int fd() const { return fd_.get(); }
  // The signals delivered since the last call (each at most once per read), in order.
  std::vector<int> take();

 private:
  UniqueFd fd_;
};

}  // namespace pl::supervisor
