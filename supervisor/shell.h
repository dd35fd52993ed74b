// The supervisor's shell: one poll loop around the pure core (supervisor_core.h).
//
// It waits on: the signalfd (SIGTERM/SIGINT stop the tree, SIGHUP reloads, SIGCHLD reaps), one
// pidfd per child (exit detection), the notify socket, the control socket, and each child's
// output pipes, with one timeout: the core's next deadline (or the manager's watchdog). An idle
// tree has no timeout at all, and uses no CPU. Whatever is ready becomes a core event; the
// core's commands are run in order (spawn, signal, publish, reply, exit).
//
// REQUIRES: constructed and run on the main thread, after the signals were blocked
// (SignalSource::open) and before any other thread was started by us.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/net/zmq_socket.h"
#include "common/result.h"
#include "common/state_paths.h"
#include "supervisor/child_environment.h"
#include "supervisor/command_lookup.h"
#include "supervisor/control_server.h"
#include "supervisor/event_bus.h"
#include "supervisor/manager_notifier.h"
#include "supervisor/notify_socket.h"
#include "supervisor/output_capture.h"
#include "supervisor/process_spawner.h"
#include "supervisor/process_table.h"
#include "supervisor/signal_source.h"
#include "supervisor/supervisor_core.h"
#include "supervisor/tree_guard.h"

namespace pl::supervisor {

struct ShellOptions {
  TreeSpec tree;                    // as loaded at start
  std::filesystem::path state_dir;  // absolute, private
  CommandLookup lookup;             // for reloads
  std::filesystem::path base_dir;   // for reloads: relative paths in the config
  size_t event_history = 1000;
};

// What the shell borrows from main().
struct ShellSeams {
  Clock& clock;
  ProcessSpawner& spawner;
  SignalSource& signals;
  TreeGuard& guard;
};

class SupervisorShell {
 public:
  // Binds the notify, control and event sockets. Fails (kIo, kInvalidInput) when one cannot be
  // bound: nothing has been started then.
  static Result<std::unique_ptr<SupervisorShell>> create(ShellOptions options, ShellSeams seams);
  ~SupervisorShell();

  // Starts the tree and runs until the root is done: returns 0 after a clean shutdown (or an
  // auto_shutdown), 1 when the root gave up or failed to start. An Error for a broken loop
  // (internal: exit 70); the tree is stopped with SIGKILL then.
  Result<int> run();

 private:
  SupervisorShell(ShellOptions options, ShellSeams seams);
  Status bind_sockets();
  void run_queue();
  void execute(const CoreCommand& command);
  void spawn(const SpawnProcess& s);
  void on_process_exit(pid_t pid);
  void on_sigchld();
  void on_signals();
  void on_notify();
  void on_control();
  void on_call(ControlCall call);
  void start_reload(const std::string& peer, const std::string& request_id);
  void answer(uint64_t token, const SendReply& reply);
  void drain_streams_of(pid_t pid);
  void drain_all_streams();
  void kill_everything();
  std::optional<TimePoint> next_wakeup() const;

  ShellOptions options_;
  ShellSeams seams_;
  StatePaths paths_;
  SupervisorCore core_;
  ChildEnvironment environment_;
  ManagerNotifier manager_;
  net::Context context_;
  std::optional<NotifySocket> notify_;
  std::optional<ControlServer> control_;
  std::optional<EventBus> events_;
  ProcessTable processes_;
  std::vector<std::shared_ptr<OutputStream>> streams_;
  std::map<pid_t, std::vector<std::shared_ptr<OutputStream>>> streams_by_pid_;
  std::deque<CoreEvent> queue_;
  struct PendingCall {
    std::string peer;  // "" for a reload from SIGHUP
    std::string request;
    bool reload = false;
  };
  std::map<uint64_t, PendingCall> calls_;
  uint64_t next_token_ = 1;
  std::optional<TimePoint> next_manager_watchdog_;
  std::string exit_reason_;
};

}  // namespace pl::supervisor
