// Signals as events: block them and read them from a signalfd in the poll loop (an interrupted
// poll is then never an error, and handlers never run at awkward moments).
#pragma once

#include <initializer_list>
#include <vector>

#include "common/result.h"

namespace pl {

// Blocks `signals` in the calling thread (threads created afterwards inherit the mask) and
// returns a non-blocking signalfd for them. Call it in main() before starting any thread.
Result<int> open_signalfd(std::initializer_list<int> signals);

// Drains the signalfd; the signal numbers in arrival order.
std::vector<int> read_signals(int fd);

}  // namespace pl
