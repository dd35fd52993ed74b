// The sockets a running tree's processes listen on in its state directory, looked up before a
// request is sent: when the socket file is missing, or nothing listens on it, nothing can answer,
// and a command says so at once (exit 69, or 75 while the tree itself runs) instead of waiting
// out its deadline.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace pl::cli {

enum class TreeSocket {
  kSupervisor,  // control.sock
  kBroker,      // broker-clients.sock: the broker binds it whatever broker.clients_endpoint says
  kRegistry,    // registry.sock
};

// The ipc:// endpoint of `which` in `state_dir`. Errors: kUnavailable naming the process, the
// directory and the missing file ("no broker runs on DIR (no broker-clients.sock); is a tree
// running there?") when the socket file does not exist, or nothing listens on it (a file left by
// a process that has stopped), unless kRetryLater: the tree's supervisor says it has a child
// running that program which is not stopped (it starts, restarts, or waits for disk space);
// kInvalidInput when its path is too long for a Unix socket. A process that listens may
// still be busy or stopped (SIGSTOP): only a call with a deadline tells.
Result<std::string> tree_endpoint(const std::filesystem::path& state_dir, TreeSocket which);

// Whether a supervisor holds the lock of `state_dir` (a tree runs there): false when there is
// no lock file or nobody holds it; an error when the lock cannot be read (a tree this user may
// not use, say), which must not pass for "no tree".
Result<bool> tree_running(const std::filesystem::path& state_dir);

}  // namespace pl::cli
