#include "supervisor/shell.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <random>

#include "common/json.h"

#include "supervisor/config_loader.h"
#include "supervisor/program_sections.h"

extern char** environ;

namespace pl::supervisor {
namespace {

std::function<double()> jitter_source() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

const char* const kCommands = "status, events, start, stop, restart, scale, reload, shutdown";

}  // namespace

SupervisorShell::SupervisorShell(ShellOptions options, ShellSeams seams)
    : options_(std::move(options)),
      seams_(seams),
      paths_(options_.state_dir),
      core_(options_.tree.root, jitter_source()) {
  environment_.inherited = ChildEnvironment::filter_inherited(environ);
  environment_.notify_socket = paths_.notify_socket().string();
  environment_.state_dir = paths_.dir().string();
  environment_.config_path = options_.tree.config_path;
}

SupervisorShell::~SupervisorShell() = default;

Result<std::unique_ptr<SupervisorShell>> SupervisorShell::create(ShellOptions options,
                                                                 ShellSeams seams) {
  std::unique_ptr<SupervisorShell> shell(new SupervisorShell(std::move(options), seams));
  if (auto bound = shell->bind_sockets(); !bound.ok()) return std::move(bound).error();
  if (!shell->options_.tree.config_path.empty()) {
    if (auto sections = program_sections(shell->options_.tree.config_path); sections.ok()) {
      shell->program_sections_ = std::move(*sections);
    }
  }
  shell->set_up_cgroups();
  shell->start_metrics(seams.clock.now());
  return shell;
}

Status SupervisorShell::bind_sockets() {
  auto notify = NotifySocket::bind(paths_.notify_socket().string());
  if (!notify.ok()) return std::move(notify).error();
  notify_.emplace(std::move(*notify));

  auto control_endpoint = paths_.control_endpoint();
  if (!control_endpoint.ok()) return std::move(control_endpoint).error();
  net::Socket router(context_, net::SocketKind::kRouter);
  if (auto s = router.bind(*control_endpoint); !s.ok()) return s;
  control_.emplace(std::move(router));

  auto events_endpoint = paths_.events_endpoint();
  if (!events_endpoint.ok()) return std::move(events_endpoint).error();
  net::SocketOptions pub_options;
  pub_options.send_hwm = 10000;
  net::Socket pub(context_, net::SocketKind::kPub, pub_options);
  if (auto s = pub.bind(*events_endpoint); !s.ok()) return s;
  events_.emplace(std::move(pub), options_.event_history);
  return ok_status();
}

// ---- The loop ---------------------------------------------------------------------------------

Result<int> SupervisorShell::run() {
  spdlog::info("supervisor {} starting {} children on {}", options_.tree.root.name,
               options_.tree.root.children.size(), paths_.dir().string());
  if (auto interval = manager_.watchdog_interval()) {
    next_manager_watchdog_ = seams_.clock.now() + *interval;
  }
  queue_.push_back(StartTree{});
  run_queue();

  std::vector<net::PollEntry> entries;
  std::vector<pid_t> entry_pid;                        // per entry: the pid of a pidfd entry
  std::vector<std::shared_ptr<OutputStream>> entry_stream;  // per entry: a stream
  while (!core_.finished()) {
    entries.clear();
    entry_pid.clear();
    entry_stream.clear();
    auto add = [&](void* socket, int fd, pid_t pid, std::shared_ptr<OutputStream> stream) {
      entries.push_back({socket, fd, false});
      entry_pid.push_back(pid);
      entry_stream.push_back(std::move(stream));
    };
    add(nullptr, seams_.signals.fd(), 0, nullptr);
    add(nullptr, notify_->fd(), 0, nullptr);
    add(control_->socket(), -1, 0, nullptr);
    processes_.for_each([&](pid_t pid, int pidfd) { add(nullptr, pidfd, pid, nullptr); });
    for (const auto& s : streams_) add(nullptr, s->fd(), 0, s);
    if (metrics_) {
      metrics_->add_poll_entries(entries);
      entry_pid.resize(entries.size(), 0);
      entry_stream.resize(entries.size());
    }

    int64_t timeout_ms = -1;
    if (auto wake = next_wakeup()) timeout_ms = millis_until(*wake, seams_.clock.now());
    if (!next_turn_.empty()) timeout_ms = 0;
    auto polled = net::poll(entries, timeout_ms);
    if (!polled.ok()) {
      kill_everything();
      return std::move(polled).error();
    }

    // Exits first: they are what the restart latency is made of. But what a child said before
    // it exited comes before its exit: a READY=1 sent just before exiting means it started,
    // then ended (systemd reads its notify socket before SIGCHLD for the same reason).
    bool exits = false;
    for (size_t i = 0; i < entries.size(); ++i) {
      exits = exits || (entries[i].readable && entry_pid[i] > 0);
    }
    if (exits) on_notify();
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].readable && entry_pid[i] > 0) on_process_exit(entry_pid[i]);
    }
    run_queue();
    if (entries[0].readable) on_signals();
    if (entries[1].readable) on_notify();
    if (entries[2].readable) on_control();
    for (size_t i = 0; i < entries.size(); ++i) {
      if (!entries[i].readable || !entry_stream[i]) continue;
      if (!entry_stream[i]->drain()) {
        std::erase(streams_, entry_stream[i]);
      }
    }
    // A ZeroMQ socket's readiness is edge-like: look again, whatever poll said.
    on_control();

    const TimePoint now = seams_.clock.now();
    if (metrics_) metrics_->after_poll(entries, now);
    if (metrics_retry_at_ && *metrics_retry_at_ <= now) start_metrics(now);
    if (auto deadline = core_.next_deadline(); deadline && *deadline <= now) {
      queue_.push_back(TimerFired{});
    }
    if (next_manager_watchdog_ && *next_manager_watchdog_ <= now) {
      manager_.send("WATCHDOG=1");
      next_manager_watchdog_ = now + *manager_.watchdog_interval();
    }
    std::move(next_turn_.begin(), next_turn_.end(), std::back_inserter(queue_));
    next_turn_.clear();
    run_queue();
  }

  drain_all_streams();
  if (const size_t n = processes_.kill_adopted(seams_.guard.pid()); n > 0) {
    spdlog::warn("killed {} orphaned process{} left behind by children", n, n == 1 ? "" : "es");
  }
  metrics_.reset();
  if (cgroups_) cgroups_->remove_all();
  spdlog::log(core_.exit_code() == 0 ? spdlog::level::info : spdlog::level::err,
              "supervisor {} exits {}: {}", options_.tree.root.name, core_.exit_code(),
              exit_reason_);
  control_.reset();
  events_.reset();
  notify_.reset();
  for (const char* name : {"control.sock", "events.sock", "notify.sock"}) {
    ::unlink((paths_.dir() / name).c_str());
  }
  return core_.exit_code();
}

std::optional<TimePoint> SupervisorShell::next_wakeup() const {
  std::optional<TimePoint> wake = core_.next_deadline();
  if (next_manager_watchdog_ && (!wake || *next_manager_watchdog_ < *wake)) {
    wake = next_manager_watchdog_;
  }
  auto consider = [&](std::optional<TimePoint> t) {
    if (t && (!wake || *t < *wake)) wake = t;
  };
  if (metrics_) consider(metrics_->next_deadline());
  consider(metrics_retry_at_);
  return wake;
}

void SupervisorShell::run_queue() {
  while (!queue_.empty()) {
    CoreEvent event = std::move(queue_.front());
    queue_.pop_front();
    for (const CoreCommand& c : core_.handle(event, seams_.clock.now())) execute(c);
  }
}

void SupervisorShell::execute(const CoreCommand& command) {
  if (auto* s = std::get_if<SpawnProcess>(&command)) {
    spawn(*s);
  } else if (auto* k = std::get_if<SignalProcess>(&command)) {
    processes_.signal(static_cast<pid_t>(k->pid), k->signal, k->group);
  } else if (auto* e = std::get_if<PublishEvent>(&command)) {
    count_event(*e);
    events_->publish(*e, seams_.clock.wall_now());
  } else if (auto* m = std::get_if<NotifyManager>(&command)) {
    manager_.send(m->state);
  } else if (auto* r = std::get_if<SendReply>(&command)) {
    answer(r->token, *r);
  } else if (auto* x = std::get_if<ExitProcess>(&command)) {
    exit_reason_ = x->reason;
  } else if (auto* m = std::get_if<MeasureMemory>(&command)) {
    measure_memory(*m);
  }
}

void SupervisorShell::spawn(const SpawnProcess& s) {
  LaunchRequest request;
  request.name = s.name;
  request.spec = s.spec.get();
  request.env = environment_.build(s.name, *s.spec);
  UniqueFd cgroup_procs;
  std::optional<uint64_t> oom_kills;
  if (cgroups_ && s.spec->max_memory_bytes > 0) {
    auto prepared = cgroups_->prepare(s.name, s.spec->max_memory_bytes);
    if (prepared.ok()) {
      cgroup_procs = std::move(*prepared);
      request.cgroup_procs_fd = cgroup_procs.get();
      oom_kills = cgroups_->oom_kills(s.name);
    } else {
      spdlog::warn("{}: no cgroup ({}); its max_memory is enforced by watching its RSS", s.name,
                   prepared.error().message);
    }
  }
  auto launched = seams_.spawner.spawn(request);
  if (!launched.ok()) {
    next_turn_.push_back(SpawnFailed{s.child, launched.error().message});
    return;
  }
  const pid_t pid = launched->pid;
  pid_names_[pid] = s.name;
  if (request.cgroup_procs_fd >= 0) oom_kills_at_spawn_[pid] = oom_kills.value_or(0);
  processes_.add(pid, std::move(launched->pidfd));
  seams_.guard.watch(pid);
  auto out = std::make_shared<OutputStream>(s.name, std::move(launched->output));
  auto err = std::make_shared<OutputStream>(s.name, std::move(launched->errors));
  streams_.push_back(out);
  streams_.push_back(err);
  streams_by_pid_[pid] = {out, err};
  queue_.push_back(ProcessSpawned{s.child, pid, request.cgroup_procs_fd >= 0});
}

// ---- Processes --------------------------------------------------------------------------------

void SupervisorShell::drain_streams_of(pid_t pid) {
  auto it = streams_by_pid_.find(pid);
  if (it == streams_by_pid_.end()) return;
  for (auto& s : it->second) {
    if (!s->drain()) std::erase(streams_, s);
  }
  streams_by_pid_.erase(it);
}

void SupervisorShell::drain_all_streams() {
  for (auto& s : streams_) s->drain();
}

void SupervisorShell::on_process_exit(pid_t pid) {
  auto exited = processes_.reap(pid, unix_millis(seams_.clock.wall_now()));
  if (!exited) return;
  seams_.guard.unwatch(pid);
  drain_streams_of(pid);  // what it wrote before dying is logged before its exit
  note_exit(pid, *exited);
  queue_.push_back(*exited);
}

void SupervisorShell::on_sigchld() {
  on_notify();  // a child's last words before its exit (see run())
  TreeGuard& guard = seams_.guard;
  auto other_child = [&](pid_t pid) {
    if (pid != guard.pid()) return false;
    ::waitpid(pid, nullptr, 0);
    guard.reaped();
    spdlog::error("the guard process {} died: starting another", pid);
    // Handed every group at its start, not watched one by one after it: killed between the
    // two, the supervisor would leave the fresh guard with an empty list.
    std::vector<pid_t> groups;
    processes_.for_each([&](pid_t p, int) { groups.push_back(p); });
    auto fresh = TreeGuard::start(groups);
    if (!fresh.ok()) {
      spdlog::error("cannot start a guard: {}", fresh.error().message);
      return true;
    }
    guard = std::move(*fresh);
    return true;
  };
  const int64_t wall = unix_millis(seams_.clock.wall_now());
  for (const ProcessExited& e :
       processes_.reap_exited(wall, other_child, [&](pid_t p) { guard.unwatch(p); })) {
    drain_streams_of(static_cast<pid_t>(e.pid));
    note_exit(static_cast<pid_t>(e.pid), e);
    queue_.push_back(e);
  }
  run_queue();
}

void SupervisorShell::on_signals() {
  for (int sig : seams_.signals.take()) {
    switch (sig) {
      case SIGCHLD:
        on_sigchld();
        break;
      case SIGTERM:
      case SIGINT:
        spdlog::info("{}: stopping the tree", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        queue_.push_back(ShutdownRequested{sig == SIGTERM ? "SIGTERM" : "SIGINT"});
        break;
      case SIGHUP:
        spdlog::info("SIGHUP: reloading {}", options_.tree.config_path);
        start_reload("", "");
        break;
      default:
        break;
    }
  }
  run_queue();
}

void SupervisorShell::on_notify() {
  for (int i = 0; i < 10000; ++i) {
    auto datagram = notify_->receive();
    if (!datagram) return;
    int64_t pid = datagram->pid;
    if (!core_.owns_pid(pid)) {
      // A child's helper process in its group speaks for the child (NotifyAccess=all).
      const pid_t group = ::getpgid(static_cast<pid_t>(pid));
      if (group <= 0 || !core_.owns_pid(group)) {
        spdlog::debug("notify from unknown pid {}: {}", pid, datagram->text);
        continue;
      }
      pid = group;
    }
    queue_.push_back(parse_notify(pid, datagram->text));
  }
}

// ---- Control ----------------------------------------------------------------------------------

void SupervisorShell::on_control() {
  for (ControlCall& call : control_->receive()) on_call(std::move(call));
  run_queue();
}

void SupervisorShell::on_call(ControlCall call) {
  const std::string& command = call.request.command;
  const Value& args = call.request.args;
  auto ok = [&](Value result) {
    protocol::ControlReply r;
    r.request = call.request.request;
    r.ok = true;
    r.result = std::move(result);
    control_->reply(call.peer, r);
  };
  auto fail = [&](ErrorCode code, std::string message) {
    control_->reply_error(call.peer, call.request.request, code, std::move(message));
  };
  if (command == "status") {
    ok(full_status());
    return;
  }
  if (command == "events") {
    const int64_t after = args.get_int("after", 0);
    const int64_t limit = args.get_int("limit", 1000);
    ok(events_->history(static_cast<uint64_t>(std::max<int64_t>(0, after)),
                        static_cast<size_t>(std::clamp<int64_t>(limit, 1, 100000))));
    return;
  }
  if (command == "shutdown") {
    Value result = Value::object();
    result["stopping"] = true;
    ok(std::move(result));
    queue_.push_back(ShutdownRequested{"shutdown requested over the control socket"});
    return;
  }
  if (command == "reload") {
    start_reload(call.peer, call.request.request);
    return;
  }
  AdminRequested admin;
  if (command == "start" || command == "stop" || command == "restart") {
    admin.verb = command == "start"  ? AdminVerb::kStart
                 : command == "stop" ? AdminVerb::kStop
                                     : AdminVerb::kRestart;
    const Value* name = args.find("name");
    if (name == nullptr || !name->is_string() || name->as_string().empty()) {
      fail(ErrorCode::kInvalidInput, command + " needs args {name: string}");
      return;
    }
    admin.name = name->as_string();
  } else if (command == "scale") {
    const Value* pool = args.find("pool");
    const Value* count = args.find("count");
    if (pool == nullptr || !pool->is_string() || count == nullptr || !count->is_int()) {
      fail(ErrorCode::kInvalidInput, "scale needs args {pool: string, count: integer}");
      return;
    }
    admin.verb = AdminVerb::kScale;
    admin.name = pool->as_string();
    admin.count = count->as_int();
  } else {
    fail(ErrorCode::kInvalidInput,
         "unknown command \"" + command + "\" (one of " + kCommands + ")");
    return;
  }
  admin.token = next_token_++;
  calls_[admin.token] = PendingCall{call.peer, call.request.request, false, {}};
  queue_.push_back(std::move(admin));
}

void SupervisorShell::start_reload(const std::string& peer, const std::string& request_id) {
  const auto monotonic_usec = std::chrono::duration_cast<std::chrono::microseconds>(
                                  seams_.clock.now().time_since_epoch())
                                  .count();
  manager_.send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec));
  auto tree = load_checked_config(options_.tree.config_path, options_.lookup, options_.base_dir);
  if (!tree.ok()) {
    const Error& why = tree.error();
    spdlog::error("reload refused, nothing changed:\n{}", why.message);
    manager_.send("READY=1");
    if (!peer.empty()) {
      control_->reply_error(peer, request_id, why.code,
                            "reload refused, nothing changed:\n" + why.message);
    }
    return;
  }
  std::vector<std::string> notes;
  if (auto sections = program_sections(options_.tree.config_path); sections.ok()) {
    for (const std::string& name : changed_sections(program_sections_, *sections)) {
      notes.push_back(name +
                      ": changed; the programs that read it do so when they start "
                      "(pipelinectl restart CHILD applies it)");
    }
    program_sections_ = std::move(*sections);
  }
  if (tree->state_dir != options_.tree.state_dir) {
    notes.push_back("supervisor.state_dir changed; it takes effect at the next start");
  }
  if (!(tree->metrics == options_.tree.metrics) || tree->cgroup != options_.tree.cgroup) {
    notes.push_back("supervisor.metrics and supervisor.cgroup take effect at the next start");
  }
  for (const std::string& note : notes) spdlog::warn("reload: {}", note);
  const uint64_t token = next_token_++;
  calls_[token] = PendingCall{peer, request_id, true, std::move(notes)};
  queue_.push_back(ReloadRequested{token, tree->root});
}

void SupervisorShell::answer(uint64_t token, const SendReply& r) {
  auto it = calls_.find(token);
  if (it == calls_.end()) return;
  const PendingCall call = it->second;
  calls_.erase(it);
  if (call.reload) {
    manager_.send("READY=1");
    if (r.ok) {
      spdlog::info("reload applied: {}", to_json(r.result));
    } else {
      spdlog::error("reload: {}", r.message);
    }
  }
  if (call.peer.empty()) return;
  protocol::ControlReply reply;
  reply.request = call.request;
  reply.ok = r.ok;
  reply.result = r.result;
  if (call.reload && r.ok && !call.notes.empty()) {
    Value notes = Value::array();
    for (const std::string& note : call.notes) notes.push_back(Value(note));
    reply.result["notes"] = std::move(notes);
  }
  reply.code = r.code;
  reply.message = r.message;
  control_->reply(call.peer, reply);
}

void SupervisorShell::kill_everything() {
  processes_.for_each([&](pid_t pid, int) { processes_.signal(pid, SIGKILL, true); });
  processes_.kill_adopted(seams_.guard.pid());
}

}  // namespace pl::supervisor
