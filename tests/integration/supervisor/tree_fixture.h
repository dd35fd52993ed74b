// A real supervisor tree in a temporary directory, for integration tests: writes the config,
// starts pipeline-supervisor on a private state dir, talks to its control socket, waits (with
// deadlines, never sleeps) for states and events, and leaves no process behind.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol/control.h"
#include "common/value.h"
#include "tests/support/harness.h"

namespace pl::test {

class Tree {
 public:
  // `yaml` is a whole config file; "$CHILD" in it is replaced by the test child's name.
  explicit Tree(const std::string& yaml);
  ~Tree();

  // Starts the supervisor (extra env entries "K=V" added). Does not wait.
  void start(std::vector<std::string> extra_env = {});
  // Starts and waits until the root is running.
  void start_and_wait(std::vector<std::string> extra_env = {});

  // One control request; nullopt when nothing answers within `timeout`.
  std::optional<protocol::ControlReply> call(const std::string& command, Value args = Value::object(),
                                             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::optional<Value> status();
  // The status entry of the child with this full name, if there is one.
  std::optional<Value> child(const std::string& name);
  int64_t pid_of(const std::string& name);
  bool wait_child_state(const std::string& name, const std::string& state,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Waits until `name` runs with a pid other than `old_pid`; returns the new pid (0 on timeout).
  int64_t wait_new_pid(const std::string& name, int64_t old_pid,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Events so far (from the bounded history).
  std::vector<protocol::ChildEvent> events();
  // Waits for an event matching `match`; returns it.
  std::optional<protocol::ChildEvent> wait_event(
      const std::function<bool(const protocol::ChildEvent&)>& match,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::optional<protocol::ChildEvent> wait_event(const std::string& kind, const std::string& child,
                                                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // The supervisor's exit code, once it has exited (nullopt at the timeout).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  Process& process() { return *supervisor_; }
  // Processes of this tree still alive (the supervisor, the guard, children, grandchildren).
  std::vector<pid_t> survivors() const { return processes_with_env(tag_); }
  bool wait_no_survivors(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

  std::string log() const { return read_text(dir_.path() / "supervisor.log"); }
  bool wait_log(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path state_dir() const { return dir_.path() / "s"; }
  std::filesystem::path config() const { return dir_.path() / "tree.yaml"; }
  void write_config(const std::string& yaml) const;
  const std::string& tag() const { return tag_; }

 private:
  TempDir dir_;
  std::string tag_;
  std::optional<Process> supervisor_;
};

// "pipeline-test-child" and its arguments, as a YAML flow list: [pipeline-test-child, --ready].
std::string child_command(const std::string& args = "");

}  // namespace pl::test
