#include "cli/tree_sockets.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <string_view>

#include "cli/control_call.h"
#include "common/net/zmq_socket.h"
#include "common/state_paths.h"

namespace pl::cli {
namespace {

// Whether a process listens on the Unix socket file: ZeroMQ leaves the file behind when its
// process stops (it removes a stale one when the next binds), so the file alone does not tell,
// and a ZeroMQ connect to it would wait out the caller's deadline. A non-blocking connect is
// refused at once when nobody listens; a listener that is merely busy (its backlog full: EAGAIN)
// counts as one, for the call's deadline to judge.
bool someone_listens(const std::filesystem::path& socket) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = socket.string();
  if (path.size() >= sizeof address.sun_path) return true;  // StatePaths refuses such paths
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;  // cannot tell: let the call find out
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return !(err == ECONNREFUSED || err == ENOENT);
}

// The state of the tree's child that runs `program` ("pipeline-broker"), as its supervisor
// says (starting, running, restarting, stopping, stopped); nullopt when no tree runs on
// `state_dir`, it does not answer, or it has no such child.
std::optional<std::string> child_state(const std::filesystem::path& state_dir,
                                       const std::string& program) {
  if (auto running = tree_running(state_dir); !running.ok() || !*running) return std::nullopt;
  auto endpoint = StatePaths(state_dir).control_endpoint();
  if (!endpoint.ok()) return std::nullopt;
  net::Context context;
  auto status = control_call(context, *endpoint, "status", std::chrono::seconds(2));
  if (!status.ok()) return std::nullopt;
  std::optional<std::string> found;
  const std::function<void(const Value&)> look = [&](const Value& node) {
    const Value* children = node.find("children");
    if (!children || !children->is_array()) return;
    for (const Value& child : children->as_array()) {
      if (child.get_string("program") == program) found = child.get_string("state");
      look(child);
    }
  };
  look(*status);
  return found;
}

}  // namespace

Result<std::string> tree_endpoint(const std::filesystem::path& state_dir, TreeSocket which) {
  const StatePaths paths(state_dir);
  const char* process = which == TreeSocket::kBroker     ? "broker"
                        : which == TreeSocket::kRegistry ? "registry"
                                                         : "supervisor";
  Result<std::string> endpoint = which == TreeSocket::kBroker     ? paths.broker_clients_endpoint()
                                 : which == TreeSocket::kRegistry ? paths.registry_endpoint()
                                                                  : paths.control_endpoint();
  if (!endpoint.ok()) return endpoint;
  // StatePaths' endpoints are "ipc://" + the socket file's path.
  const std::filesystem::path socket = endpoint->substr(std::string_view("ipc://").size());
  std::error_code ignored;
  const bool there = std::filesystem::exists(socket, ignored);
  if (there && someone_listens(socket)) return endpoint;
  // The tree may run while this child of it does not listen (it starts, restarts after a
  // crash, or waits for disk space): that is for trying again (75), not "nothing runs" (69).
  // A tree without one (a host of workers only), or with it stopped on purpose, is the latter.
  if (which != TreeSocket::kSupervisor) {
    const std::string program = std::string("pipeline-") + process;
    if (auto state = child_state(state_dir, program); state && *state != "stopped") {
      return make_error(ErrorCode::kRetryLater,
                        "the tree on " + paths.dir().string() + " runs, but its " + process +
                            " does not listen now (" + *state + "); try again");
    }
  }
  const std::string why = there ? "nothing listens on " + socket.filename().string() +
                                      ", left by a process that has stopped"
                                : "no " + socket.filename().string();
  return make_error(ErrorCode::kUnavailable, "no " + std::string(process) + " runs on " +
                                                 paths.dir().string() + " (" + why +
                                                 "); is a tree running there?");
}

Result<bool> tree_running(const std::filesystem::path& state_dir) {
  const std::filesystem::path lock = StatePaths(state_dir).supervisor_lock();
  const int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) return false;
  if (fd < 0) return errno_error("open " + lock.string(), errno);
  // A supervisor holds an exclusive lock for its whole life; if we can share it, nobody does.
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

}  // namespace pl::cli
