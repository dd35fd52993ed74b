// How long broker.db keeps finished runs, and the freeing of what deleted runs leave.
//
// A run finished longer ago than `keep_finished` is deleted (record, item results, dead letters:
// RunCoordinator::delete_run), as `pipelinectl runs delete` does by hand. Deleting is cheap; the
// space a run's results take is freed afterwards, a few batches per turn of the broker's loop
// (RunStore::purge_deleted), so that a run of millions never stops the loop for long. Both go on
// after a restart where they stopped: the store remembers deleted runs until they are freed.
// Not thread-safe: the broker's loop thread owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "common/clock.h"

namespace pl::broker {

class RunCoordinator;

struct RetentionSettings {
  // Finished runs older than this are deleted; nullopt keeps them forever.
  std::optional<std::chrono::milliseconds> keep_finished = std::chrono::hours(24 * 30);
  size_t runs_per_turn = 16;     // deleted in one turn; more wait for the next
  size_t batches_per_turn = 8;   // of item results freed in one turn (about 1 ms of work)

  // How often expired runs are looked for: every minute, or every quarter of the retention
  // when that is shorter.
  Duration check_every() const;
};

struct RetentionCounters {
  uint64_t runs_expired = 0;   // deleted for their age
  uint64_t store_errors = 0;   // failed reads or deletes (logged; tried again at the next check)
};

class RunRetention {
 public:
  RunRetention(RunCoordinator& coordinator, RetentionSettings settings);

  // This turn's share: deletes expired runs when a check is due, then frees some of what
  // deleted runs (by retention or by hand) left. Cheap when there is nothing to do.
  void on_turn(Instant now);
  // When on_turn has more to do: at once while freeing or while more expired runs wait, else
  // the next check; TimePoint::max() when runs are kept forever and nothing is left to free.
  TimePoint next_deadline() const;
  const RetentionCounters& counters() const { return counters_; }

 private:
  void expire(Instant now);
  void free_some(Instant now);

  RunCoordinator& coordinator_;
  RetentionSettings settings_;
  TimePoint next_check_{};      // the first turn checks
  TimePoint next_free_{};       // later than now only after a failure
  bool more_to_free_ = true;     // as the last purge said (the first turn looks)
  std::optional<TimePoint> freeing_since_;  // for the log line that says when it is done
  RetentionCounters counters_;
};

}  // namespace pl::broker
