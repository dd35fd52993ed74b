// The limit of open files of our processes.
//
// A shell's soft limit is often 1024, and a broker serving many clients or a worker running
// many tools needs more; libzmq aborts the process when it runs out (EMFILE in accept or epoll).
// So each program raises its soft limit to its hard limit as it starts. The programs we start
// (tools, a supervisor's other children) get the limit we were given back, as systemd does,
// since programs that use select() break above 1024 descriptors.
#pragma once

#include <sys/resource.h>

namespace pl {

// Raises this process's soft limit of open files to its hard limit, remembering the one it had.
// Call once, early in main(). A failure leaves the limit as it was (nothing to report: it is
// only a larger margin).
void raise_open_file_limit();

// The limit this process was started with (before raise_open_file_limit()), for its children.
rlimit inherited_open_file_limit();

}  // namespace pl
