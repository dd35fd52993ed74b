// The supervisor's shell: one poll loop around the pure core (supervisor_core.h).
//
// It waits on: the signalfd (SIGTERM/SIGINT stop the tree, SIGHUP reloads, SIGCHLD reaps), one
// pidfd per child (exit detection), the notify socket, the control socket, each child's output
// pipes and, when configured, the metrics endpoint's sockets, with one timeout: the core's next
// deadline (or the manager's watchdog, or the endpoint's). An idle tree has no timeout at all,
// and uses no CPU. Whatever is ready becomes a core event; the core's commands are run in order
// (spawn, signal, publish, reply, exit, measure memory).
//
// Memory: a child with max_memory runs in its own cgroup (memory.max) when the supervisor's
// cgroup is delegated to it (child_cgroups.h); otherwise the core asks for RSS readings, which
// the shell makes from /proc. A reading that fails while the process still runs is fed back as
// a failure, never as a zero.
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
#include "supervisor/child_cgroups.h"
#include "supervisor/child_environment.h"
#include "supervisor/command_lookup.h"
#include "supervisor/control_server.h"
#include "supervisor/event_bus.h"
#include "supervisor/manager_notifier.h"
#include "supervisor/metrics_endpoint.h"
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
  // Where the metrics endpoint listens (--metrics-listen, else supervisor.metrics.listen);
  // nullopt: no endpoint.
  std::optional<ListenAddress> metrics_listen;
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

  // Memory and metrics (shell_metrics.cpp).
  void set_up_cgroups();
  void start_metrics(TimePoint now);
  void measure_memory(const MeasureMemory& m);
  void note_exit(pid_t pid, const ProcessExited& e);
  void count_event(const PublishEvent& e);
  // The child's resident set, or why not; nullopt when the process has just exited (its exit
  // is about to be handled: not a failure).
  std::optional<ChildReading> read_memory(pid_t pid);
  // `status` with what only the shell knows: pid, state_dir, each process's rss_bytes,
  // the metrics endpoint, how memory is bounded.
  Value full_status();
  SupervisorFacts metrics_facts();

  ShellOptions options_;
  ShellSeams seams_;
  StatePaths paths_;
  SupervisorCore core_;
  ChildEnvironment environment_;
  ManagerNotifier manager_;
  net::Context context_;
  std::unique_ptr<MetricsEndpoint> metrics_;   // after context_: destroyed before it
  std::string metrics_error_;                  // why there is no endpoint although one was asked
  std::optional<TimePoint> metrics_retry_at_;  // binding failed: try again then
  std::optional<ChildCgroups> cgroups_;
  std::string cgroup_note_;                       // why max_memory is watched through RSS
  std::map<pid_t, std::string> pid_names_;        // our processes' full names
  std::map<pid_t, uint64_t> oom_kills_at_spawn_;  // cgroup children: memory.events oom_kill
  std::map<std::string, uint64_t> event_counts_;
  std::map<std::string, uint64_t> memory_exceeded_;
  std::map<std::string, uint64_t> measure_errors_;
  std::optional<NotifySocket> notify_;
  std::optional<ControlServer> control_;
  std::optional<EventBus> events_;
  ProcessTable processes_;
  std::vector<std::shared_ptr<OutputStream>> streams_;
  std::map<pid_t, std::vector<std::shared_ptr<OutputStream>>> streams_by_pid_;
  std::deque<CoreEvent> queue_;
  // Spawns that failed: handed to the core on the loop's next turn, not at once. The core
  // retries a failed restart straight away; answered within the same turn, a child that can
  // never be spawned would keep the loop from ever polling again (no signal, no request read)
  // while the intensity allows more restarts than can fail within the period.
  std::deque<CoreEvent> next_turn_;
  struct PendingCall {
    std::string peer;  // "" for a reload from SIGHUP
    std::string request;
    bool reload = false;
    // What a reload changed that no child restart applied: said in its reply as well as logged.
    std::vector<std::string> notes;
  };
  std::map<uint64_t, PendingCall> calls_;
  uint64_t next_token_ = 1;
  std::optional<TimePoint> next_manager_watchdog_;
  std::string exit_reason_;
  // The config's broker:, worker:, registry:, providers: and pricing: as last loaded, to tell a
  // reload which changed (their programs read them only at start).
  Value program_sections_ = Value::object();
};

}  // namespace pl::supervisor
