// The core's model of the tree. Internal to the core (supervisor_core*.cpp and its tests).
//
// A Child is anything a supervisor supervises: a worker (one OS process), a pool (OTP's
// simple_one_for_one: identical members) or a nested supervisor. Pools and supervisors own a
// Node: their children, their restart window and at most one Plan at a time. The root is a
// Child of type supervisor without a parent.
//
// A Plan is what a node is busy doing, as OTP's supervisor is busy inside a synchronous call:
// a list of steps (start these, stop those, wait until then) ending in a goal. While a node has
// a plan, what concerns other children waits in `pending`, as messages wait in OTP's mailbox.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "supervisor/child_spec.h"
#include "supervisor/core_io.h"
#include "supervisor/restart_backoff.h"
#include "supervisor/restart_window.h"

namespace pl::supervisor {

// kStopped with restart_queued shows as "restarting".
enum class ChildState { kStopped, kStarting, kRunning, kStopping };

struct Node;

struct LastExit {
  int exit_status = -1;
  int signal = 0;
  int64_t time_ms = 0;
};

struct Child {
  ChildId id = 0;
  std::string name;  // full name
  ChildType type = ChildType::kWorker;
  std::shared_ptr<const ChildSpec> spec;  // a pool member shares its pool's spec
  Node* parent = nullptr;                  // nullptr for the root
  int member_index = 0;                    // pool members: the N in "workers.N"

  ChildState state = ChildState::kStopped;
  bool restart_queued = false;  // part of a restart in progress; not started again yet
  // one_for_one (and pools): a restart delayed by backoff is due then, started by the timer
  // without keeping the node busy meanwhile. Meaningful only while restart_queued.
  std::optional<TimePoint> restart_at;
  TimePoint started_at{};       // when the current run began (spawn, or node start)
  int restarts = 0;
  std::optional<LastExit> last_exit;
  RestartBackoff backoff;

  // Workers only: the current process.
  int64_t pid = 0;
  bool spawning = false;            // SpawnProcess sent, no answer yet
  bool stop_requested = false;      // we asked it to stop: its exit is a stop, not a failure
  bool fail_start_on_exit = false;  // killed for a ready timeout: its exit is a failed start
  bool watchdog_fired = false;
  std::optional<TimePoint> ready_deadline;
  bool ready_extended = false;  // by EXTEND_TIMEOUT_USEC, since this start
  std::optional<TimePoint> watchdog_deadline;
  std::optional<TimePoint> kill_deadline;
  std::optional<TimePoint> memory_deadline;  // next RSS reading (max_memory without a cgroup)
  bool memory_killed = false;                // killed for exceeding max_memory
  bool memory_in_cgroup = false;             // its max_memory is a cgroup's memory.max
  int measure_failures = 0;                  // RSS readings failed in a row
  std::string status_text;  // the last STATUS=

  std::unique_ptr<Node> node;  // pools and supervisors

  const ProcessSpec& process() const { return spec->process; }
  bool is_node() const { return type != ChildType::kWorker; }
};

struct PlanStep {
  enum class Kind { kStart, kStop, kWait };
  Kind kind = Kind::kStart;
  std::vector<ChildId> targets;  // acted on in parallel
  TimePoint until{};             // kWait
};

// Steps that start `ids`: one step for a pool's members (started in parallel), one step each,
// in order, for a supervisor's children.
inline void append_starts(std::deque<PlanStep>& steps, bool pool, const std::vector<ChildId>& ids) {
  if (pool) {
    steps.push_back({PlanStep::Kind::kStart, ids, {}});
    return;
  }
  for (ChildId id : ids) steps.push_back({PlanStep::Kind::kStart, {id}, {}});
}

enum class PlanGoal {
  kStartNode,        // the node's own start; done: report started to the parent
  kUndoFailedStart,  // a child failed to start: stop the rest; done: report start failure
  kStopNode,         // the parent asked the node to stop; done: report stopped
  kGiveUp,           // intensity exceeded; done: report an abnormal termination
  kAutoShutdown,     // significant children ended; done: report a normal termination
  kRestart,          // restart some children after a failure
  kAdmin,            // an operator's request or a reload; done: complete the operation
};

struct Plan {
  PlanGoal goal = PlanGoal::kRestart;
  std::deque<PlanStep> steps;
  PlanStep::Kind current = PlanStep::Kind::kStart;
  std::set<ChildId> waiting;                  // targets of the current step still under way
  std::optional<TimePoint> wait_until;        // current step is a wait
  std::vector<std::pair<ChildId, std::string>> failures;  // failed starts in the current step
  std::vector<ChildId> remove_after;          // children to delete once the plan is done
  std::vector<ChildId> remove_if_failed;      // new pool members to drop if they fail to start
  uint64_t operation = 0;                     // kAdmin: the operation to complete (0 = none)
  std::string reason;                         // for events and replies
};

// Something a busy node will handle once its plan is done.
struct Pending {
  enum class Kind { kTerminated, kAdmin, kApplySpec, kScale };
  Kind kind = Kind::kTerminated;
  ChildId child = 0;
  bool abnormal = false;
  std::string reason;
  uint64_t operation = 0;
  AdminVerb verb = AdminVerb::kStart;
  int64_t count = 0;
  std::shared_ptr<const ChildSpec> spec;  // kApplySpec: the node's new spec
};

struct Node {
  Child* self = nullptr;
  bool pool = false;  // simple_one_for_one
  SupervisorFlags flags;
  std::vector<std::unique_ptr<Child>> children;  // start order
  std::vector<std::unique_ptr<Child>> retiring;  // removed by a reload, being stopped
  RestartWindow window{1, std::chrono::seconds(5)};
  std::optional<Plan> plan;
  std::deque<Pending> pending;
  int64_t target_count = 0;  // pools: members wanted
  std::string stop_reason;

  Child* child_by_id(ChildId id) const;
};

// An operator request in progress: how many node plans it still waits for, and what failed.
struct Operation {
  uint64_t token = 0;
  std::string what;
  int outstanding = 0;
  std::vector<std::string> errors;
  ErrorCode error_code = ErrorCode::kStepFailed;
  Value result;
};

}  // namespace pl::supervisor
