// What a supervision tree is made of, as read from the config: plain data, compared by value
// (so that `reload` can tell which children changed) and shared read-only by the core.
//
// The root is itself a ChildSpec of type kSupervisor. Names are the names written in the config
// ("broker"); the core builds full names ("sub.broker", "workers.2").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pl::supervisor {

enum class ChildType { kWorker, kPool, kSupervisor };

// permanent: always restarted. transient: restarted only after an abnormal exit (a non-zero
// status or a signal). temporary: never restarted, not even when a sibling's death restarts
// the others.
enum class RestartType { kPermanent, kTransient, kTemporary };

// What a supervisor does when a child that must be restarted dies. Pools are OTP's
// simple_one_for_one: each member is restarted alone.
enum class Strategy { kOneForOne, kOneForAll, kRestForOne };

enum class AutoShutdown { kNever, kAnySignificant, kAllSignificant };

// exec: the child counts as started once exec'd. notify: once it sends READY=1.
enum class ReadyMode { kExec, kNotify };

std::string_view to_string(ChildType t);
std::string_view to_string(RestartType t);
std::string_view to_string(Strategy s);
std::string_view to_string(AutoShutdown a);
std::string_view to_string(ReadyMode r);

// Optional exponential restart delay, kept apart from intensity counting. Off when
// initial_ms is 0. The n-th consecutive restart waits min(max_ms, initial_ms * 2^(n-1)),
// jittered down by up to half; the count resets once the child has run reset_after_ms.
struct BackoffSpec {
  int64_t initial_ms = 0;
  int64_t max_ms = 0;
  int64_t reset_after_ms = 30000;
  bool enabled() const { return initial_ms > 0; }
  friend bool operator==(const BackoffSpec&, const BackoffSpec&) = default;
};

// A resource limit set in the child before exec (setrlimit, soft = hard = value). The config
// names are those of to_string(): `rlimits: {cpu_seconds: 600, open_files: 4096}`.
enum class Resource {
  kCpuSeconds,    // RLIMIT_CPU: seconds of CPU time, then SIGXCPU / SIGKILL
  kOpenFiles,     // RLIMIT_NOFILE
  kAddressSpace,  // RLIMIT_AS, bytes
  kFileSize,      // RLIMIT_FSIZE, bytes
  kProcesses,     // RLIMIT_NPROC (counted per user, as the kernel does)
  kCoreSize,      // RLIMIT_CORE, bytes
  kStack,         // RLIMIT_STACK, bytes
};
inline constexpr uint64_t kUnlimited = UINT64_MAX;  // "unlimited" in the config
std::string_view to_string(Resource r);

struct ResourceLimit {
  Resource resource = Resource::kOpenFiles;
  uint64_t value = kUnlimited;
  friend bool operator==(const ResourceLimit&, const ResourceLimit&) = default;
};

// More than `intensity` restarts within `period_s` seconds makes the supervisor give up.
struct SupervisorFlags {
  Strategy strategy = Strategy::kOneForOne;
  int64_t intensity = 1;
  int64_t period_s = 5;
  AutoShutdown auto_shutdown = AutoShutdown::kNever;
  friend bool operator==(const SupervisorFlags&, const SupervisorFlags&) = default;
};

// How to run one OS process (a worker, or each member of a pool).
struct ProcessSpec {
  std::vector<std::string> argv;  // as written; argv[0] may be a bare name
  std::string executable;         // argv[0] resolved to an absolute path at load
  std::vector<std::pair<std::string, std::string>> env;  // added to the inherited environment
  std::string cwd;                                        // absolute
  int64_t shutdown_ms = 5000;     // SIGTERM, then SIGKILL after this long
  bool brutal_kill = false;       // SIGKILL at once
  ReadyMode ready = ReadyMode::kExec;
  int64_t ready_timeout_ms = 10000;  // notify only: READY=1 must come within this (>= 1)
  int64_t watchdog_ms = 0;           // WATCHDOG=1 must arrive within this; 0 = off
  BackoffSpec backoff;
  // Memory bound of the process: a cgroup v2 memory.max when the supervisor has a delegated
  // cgroup, otherwise its RSS is read every memory_check_ms and the process is killed (and
  // handled as any abnormal exit) when it is over. 0 = no bound.
  uint64_t max_memory_bytes = 0;
  int64_t memory_check_ms = 1000;
  std::vector<ResourceLimit> rlimits;  // in the order written
  friend bool operator==(const ProcessSpec&, const ProcessSpec&) = default;

  // Whether a running process must be restarted to apply `other` (as opposed to fields the
  // supervisor reads only when it acts: shutdown, ready_timeout, backoff, memory_check).
  bool launch_differs(const ProcessSpec& other) const;
};

struct ChildSpec {
  std::string name;
  ChildType type = ChildType::kWorker;
  RestartType restart = RestartType::kPermanent;
  bool significant = false;

  ProcessSpec process;  // kWorker, and the template of a kPool's members

  int64_t count = 1;          // kPool: members at start
  int64_t max_children = 64;  // kPool: the bound on `scale`

  SupervisorFlags flags;            // kSupervisor; a kPool uses intensity and period
  std::vector<ChildSpec> children;  // kSupervisor, in start order

  friend bool operator==(const ChildSpec&, const ChildSpec&) = default;
};

// supervisor.metrics: the HTTP endpoint for Prometheus (/metrics) and health checks (/health).
struct MetricsSpec {
  std::string listen;         // "host:port" as written; "" = no endpoint. Port 0: any free one
  bool allow_remote = false;  // a non-loopback `listen` is refused unless this is set
  int64_t broker_timeout_ms = 500;  // how long a scrape waits for the broker's status
  int64_t max_connections = 16;     // open HTTP connections at once; more are answered 503
  friend bool operator==(const MetricsSpec&, const MetricsSpec&) = default;
};

// supervisor.cgroup: whether max_memory may use cgroup v2 (when the supervisor's own cgroup is
// delegated to it) or always watches RSS.
enum class CgroupMode { kAuto, kOff };

// The loaded `supervisor` + `children` sections of a config file.
struct TreeSpec {
  ChildSpec root;              // type kSupervisor
  std::string state_dir;       // supervisor.state_dir as written ("" when absent)
  std::string config_path;     // absolute path of the file read
  MetricsSpec metrics;
  CgroupMode cgroup = CgroupMode::kAuto;
};

// Whether a child with `restart` is restarted after an exit that was (or was not) abnormal.
bool should_restart(RestartType restart, bool abnormal);

}  // namespace pl::supervisor
